//! The app's settings as types: each key's default, allowed range, how it is written and read
//! back, and which environment variable overrides it. What is saved lives in `SQLite`
//! (`store::settings`, one row per changed key, as the canonical text this module writes);
//! [`Settings::resolve`] puts defaults, saved values and the environment together. Pure: the
//! store rows and the environment are passed in, so tests need neither.
//!
//! The environment variables stay what they were before settings existed (seconds for times,
//! a `tracing` filter for the log): an override for tests, demos and administrators, taken as
//! given (no range), and shown as the source wherever a setting is listed. A variable that
//! cannot be read is ignored with a warning.
//!
//! Applying a setting is the engine's, the reminder scheduler's, the log's and the
//! notifications' business; this module only says what the values are.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// Seconds before an access token expires at which a connection in use is refreshed.
pub const ENV_REFRESH_MARGIN: &str = "MAILCONN_REFRESH_MARGIN_SECS";
/// Seconds between keep-alive refreshes of an idle delegated connection.
pub const ENV_KEEP_ALIVE: &str = "MAILCONN_KEEP_ALIVE_SECS";
/// The reminder thresholds in days, e.g. `30,14,7,1`.
pub const ENV_REMINDER_DAYS: &str = "MAILCONN_REMINDER_DAYS";
/// A `tracing` filter for the log (`debug`, `mailconn_core=trace,info`).
pub const ENV_LOG: &str = crate::logging::LOG_ENV;

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// Five minutes leaves time for a retry or two before an access token (60 to 90 minutes) expires.
pub const DEFAULT_REFRESH_MARGIN: u64 = 5 * MINUTE;
/// Below a minute a slow token request could finish after the token expired; above half an hour
/// a token of Microsoft's shortest lifetime (60 minutes) would be refreshed at half its life.
const REFRESH_MARGIN_RANGE: (u64, u64) = (MINUTE, 30 * MINUTE);
/// A week keeps an idle connection far inside Microsoft's 90-day inactivity limit.
pub const DEFAULT_KEEP_ALIVE: u64 = 7 * DAY;
/// At most 60 days: a missed keep-alive or two (laptop closed) still lands inside the 90 days.
const KEEP_ALIVE_RANGE: (u64, u64) = (DAY, 60 * DAY);
/// Microsoft's portal warns at 30 days; then two weeks, a week and the last day.
pub const DEFAULT_REMINDER_DAYS: [u32; 4] = [30, 14, 7, 1];
/// Client secrets last at most two years; a reminder earlier than a year ahead helps nobody.
const MAX_REMINDER_DAY: u32 = 365;
/// Enough steps for any sensible schedule; a longer list is a typing mistake.
const MAX_REMINDERS: usize = 8;
/// The log file's level unless `MAILCONN_LOG` says otherwise.
pub const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

/// A setting's name, as the CLI and the interface use it (`refresh-margin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum SettingKey {
    RefreshMargin,
    KeepAlive,
    ReminderDays,
    NotifyConnections,
    NotifySecrets,
    NotifyBridge,
    LogLevel,
    Theme,
}

/// Light or dark, or whatever the desktop is set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follows the desktop's light or dark setting, also when it changes while the app runs.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// The kinds of desktop notification the app sends, each with its own on/off setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A connection needs sign-in or consent, its app's secret is refused, the app cannot reach
    /// an organisation mailbox.
    Connections,
    /// A client secret enters a reminder stage (expires in N days, has expired).
    Secrets,
    /// The mail bridge did not start, or cannot reach a mailbox for a program.
    Bridge,
}

impl NotificationKind {
    pub fn key(self) -> SettingKey {
        match self {
            Self::Connections => SettingKey::NotifyConnections,
            Self::Secrets => SettingKey::NotifySecrets,
            Self::Bridge => SettingKey::NotifyBridge,
        }
    }
}

/// The levels the log file can be set to (the environment may give any `tracing` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == text || (text == "warning" && *l == Self::Warn))
    }
}

/// What kind of value a setting holds (how the interface edits it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SettingKind {
    /// A time, in seconds; written `90s`, `5m`, `2h`, `7d`.
    Duration,
    /// Whole days, largest first, written `30,14,7,1`.
    Days,
    /// On or off.
    Switch,
    /// One of [`LogLevel`].
    Level,
    /// One of [`Theme`].
    Theme,
}

/// A setting's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettingValue {
    Duration {
        #[ts(type = "number")]
        seconds: u64,
    },
    Days {
        days: Vec<u32>,
    },
    Switch {
        on: bool,
    },
    /// A level from the setting, or any `tracing` filter from `MAILCONN_LOG`.
    Level {
        filter: String,
    },
    Theme {
        theme: Theme,
    },
}

impl SettingValue {
    /// The canonical text: what the CLI prints and what is saved.
    pub fn text(&self) -> String {
        match self {
            Self::Duration { seconds } => format_duration(*seconds),
            Self::Days { days } => days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            Self::Switch { on } => if *on { "on" } else { "off" }.to_owned(),
            Self::Level { filter } => filter.clone(),
            Self::Theme { theme } => theme.as_str().to_owned(),
        }
    }
}

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    Default,
    Saved,
    /// An environment variable overrides it (the interface shows it read-only).
    Environment,
}

impl SettingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Saved => "saved",
            Self::Environment => "environment",
        }
    }
}

impl SettingKey {
    pub const ALL: [SettingKey; 8] = [
        SettingKey::RefreshMargin,
        SettingKey::KeepAlive,
        SettingKey::ReminderDays,
        SettingKey::NotifyConnections,
        SettingKey::NotifySecrets,
        SettingKey::NotifyBridge,
        SettingKey::LogLevel,
        SettingKey::Theme,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefreshMargin => "refresh-margin",
            Self::KeepAlive => "keep-alive",
            Self::ReminderDays => "reminder-days",
            Self::NotifyConnections => "notify-connections",
            Self::NotifySecrets => "notify-secrets",
            Self::NotifyBridge => "notify-bridge",
            Self::LogLevel => "log-level",
            Self::Theme => "theme",
        }
    }

    /// A key by its name (`refresh-margin`; `refresh_margin` too).
    pub fn parse(name: &str) -> Result<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                Error::invalid("key", format!("There is no setting \"{name}\"."))
                    .with_fix(format!("The settings are: {}.", known.join(", ")))
            })
    }

    pub fn kind(self) -> SettingKind {
        match self {
            Self::RefreshMargin | Self::KeepAlive => SettingKind::Duration,
            Self::ReminderDays => SettingKind::Days,
            Self::NotifyConnections | Self::NotifySecrets | Self::NotifyBridge => {
                SettingKind::Switch
            }
            Self::LogLevel => SettingKind::Level,
            Self::Theme => SettingKind::Theme,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::RefreshMargin => "Refresh margin",
            Self::KeepAlive => "Keep-alive interval",
            Self::ReminderDays => "Client secret reminders",
            Self::NotifyConnections => "Notify about connections",
            Self::NotifySecrets => "Notify about client secrets",
            Self::NotifyBridge => "Notify about the mail bridge",
            Self::LogLevel => "Log level",
            Self::Theme => "Theme",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::RefreshMargin => {
                "How long before an access token expires a connection in use is refreshed."
            }
            Self::KeepAlive => {
                "How often an idle mailbox is refreshed, so Microsoft never retires its sign-in \
                 (after 90 days without use)."
            }
            Self::ReminderDays => {
                "How many days before a client secret expires to remind you (each step once)."
            }
            Self::NotifyConnections => {
                "When a connection needs you to sign in or consent, its app's secret is refused, \
                 or the app cannot reach an organisation mailbox."
            }
            Self::NotifySecrets => "When a client secret is about to expire or has expired.",
            Self::NotifyBridge => {
                "When the mail bridge does not start or cannot reach a mailbox for a program."
            }
            Self::LogLevel => "How much the log file records (secrets are never written).",
            Self::Theme => "Light or dark; System follows the desktop's setting.",
        }
    }

    /// The environment variable that overrides this setting, if any.
    pub fn env(self) -> Option<&'static str> {
        match self {
            Self::RefreshMargin => Some(ENV_REFRESH_MARGIN),
            Self::KeepAlive => Some(ENV_KEEP_ALIVE),
            Self::ReminderDays => Some(ENV_REMINDER_DAYS),
            Self::LogLevel => Some(ENV_LOG),
            Self::NotifyConnections | Self::NotifySecrets | Self::NotifyBridge | Self::Theme => {
                None
            }
        }
    }

    pub fn default_value(self) -> SettingValue {
        match self {
            Self::RefreshMargin => SettingValue::Duration {
                seconds: DEFAULT_REFRESH_MARGIN,
            },
            Self::KeepAlive => SettingValue::Duration {
                seconds: DEFAULT_KEEP_ALIVE,
            },
            Self::ReminderDays => SettingValue::Days {
                days: DEFAULT_REMINDER_DAYS.to_vec(),
            },
            Self::NotifyConnections | Self::NotifySecrets | Self::NotifyBridge => {
                SettingValue::Switch { on: true }
            }
            Self::LogLevel => SettingValue::Level {
                filter: DEFAULT_LOG_LEVEL.as_str().to_owned(),
            },
            Self::Theme => SettingValue::Theme {
                theme: Theme::default(),
            },
        }
    }

    /// The allowed range in seconds (times) or days (reminders), when there is one.
    pub fn range(self) -> Option<(u64, u64)> {
        match self {
            Self::RefreshMargin => Some(REFRESH_MARGIN_RANGE),
            Self::KeepAlive => Some(KEEP_ALIVE_RANGE),
            Self::ReminderDays => Some((1, u64::from(MAX_REMINDER_DAY))),
            _ => None,
        }
    }

    /// What may be entered, in words.
    pub fn accepts(self) -> String {
        match self {
            Self::RefreshMargin | Self::KeepAlive => {
                let (lo, hi) = self.range().unwrap_or_default();
                format!(
                    "from {} to {} (e.g. {}; units s, m, h, d)",
                    human_duration(lo),
                    human_duration(hi),
                    self.default_value().text()
                )
            }
            Self::ReminderDays => format!(
                "1 to {MAX_REMINDERS} whole numbers of days from 1 to {MAX_REMINDER_DAY}, \
                 separated by commas (e.g. 30,14,7,1)"
            ),
            Self::NotifyConnections | Self::NotifySecrets | Self::NotifyBridge => {
                "on or off".to_owned()
            }
            Self::LogLevel => "error, warn, info, debug or trace".to_owned(),
            Self::Theme => "system, light or dark".to_owned(),
        }
    }

    /// Checks what a person typed and returns the value to save, or an error that says what is
    /// wrong and what is allowed.
    pub fn parse_value(self, text: &str) -> Result<SettingValue> {
        let text = text.trim();
        let invalid = |why: String| {
            Error::invalid(self.as_str(), why).with_fix(format!(
                "{} accepts {}.",
                self.label(),
                self.accepts()
            ))
        };
        if text.is_empty() {
            return Err(invalid(format!("{} needs a value.", self.label())));
        }
        match self.kind() {
            SettingKind::Duration => {
                let seconds = parse_duration(text).ok_or_else(|| {
                    invalid(format!(
                        "\"{text}\" is not a length of time for the {}.",
                        self.label().to_lowercase()
                    ))
                })?;
                let (lo, hi) = self.range().unwrap_or((0, u64::MAX));
                if seconds < lo {
                    return Err(invalid(format!(
                        "{} of {} is too short: the shortest is {}.",
                        self.label(),
                        human_duration(seconds),
                        human_duration(lo)
                    )));
                }
                if seconds > hi {
                    return Err(invalid(format!(
                        "{} of {} is too long: the longest is {}.",
                        self.label(),
                        human_duration(seconds),
                        human_duration(hi)
                    )));
                }
                Ok(SettingValue::Duration { seconds })
            }
            SettingKind::Days => parse_days(text).map_err(invalid),
            SettingKind::Switch => match text.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => Ok(SettingValue::Switch { on: true }),
                "off" | "false" | "no" | "0" => Ok(SettingValue::Switch { on: false }),
                _ => Err(invalid(format!("\"{text}\" is neither on nor off."))),
            },
            SettingKind::Level => LogLevel::parse(text)
                .map(|l| SettingValue::Level {
                    filter: l.as_str().to_owned(),
                })
                .ok_or_else(|| invalid(format!("\"{text}\" is not a log level."))),
            SettingKind::Theme => Theme::parse(text)
                .map(|theme| SettingValue::Theme { theme })
                .ok_or_else(|| invalid(format!("\"{text}\" is not a theme."))),
        }
    }

    /// Reads the environment variable's text as the engine always has: seconds for times, a
    /// list of days, any valid `tracing` filter. `Err` says why it is ignored.
    fn parse_env(self, text: &str) -> std::result::Result<SettingValue, String> {
        let text = text.trim();
        match self.kind() {
            SettingKind::Duration => text
                .parse::<u32>()
                .map(|s| SettingValue::Duration {
                    seconds: u64::from(s),
                })
                .map_err(|_| "it is not a whole number of seconds".to_owned()),
            SettingKind::Days => {
                let days: Option<Vec<u32>> =
                    text.split(',').map(|p| p.trim().parse().ok()).collect();
                match days {
                    Some(days) => Ok(SettingValue::Days {
                        days: sorted_days(days),
                    }),
                    None => Err("it is not a comma-separated list of days".to_owned()),
                }
            }
            SettingKind::Level => {
                if text.is_empty() {
                    return Err("it is empty".to_owned());
                }
                tracing_subscriber::EnvFilter::try_new(text)
                    .map(|_| SettingValue::Level {
                        filter: text.to_owned(),
                    })
                    .map_err(|e| format!("it is not a log filter ({e})"))
            }
            SettingKind::Switch | SettingKind::Theme => {
                Err("this setting has no environment variable".to_owned())
            }
        }
    }
}

/// Largest first, without zeros or duplicates.
fn sorted_days(mut days: Vec<u32>) -> Vec<u32> {
    days.retain(|d| *d > 0);
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    days
}

fn parse_days(text: &str) -> std::result::Result<SettingValue, String> {
    let mut days = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let day: u32 = part
            .trim_end_matches(|c: char| c == 'd' || c.is_whitespace())
            .parse()
            .map_err(|_| format!("\"{part}\" is not a whole number of days."))?;
        if day == 0 || day > MAX_REMINDER_DAY {
            return Err(format!(
                "{day} days is outside the range: each reminder is 1 to {MAX_REMINDER_DAY} days \
                 before the end date."
            ));
        }
        days.push(day);
    }
    let days = sorted_days(days);
    if days.is_empty() {
        return Err("Give at least one number of days.".to_owned());
    }
    if days.len() > MAX_REMINDERS {
        return Err(format!(
            "{} reminders are too many: at most {MAX_REMINDERS}.",
            days.len()
        ));
    }
    Ok(SettingValue::Days { days })
}

/// `90`, `90s`, `5m`, `5 min`, `2h`, `7d`, `7 days`: seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        _ => return None,
    };
    number.checked_mul(unit)
}

/// Seconds as the CLI writes them: the largest unit that divides them (`300` is `5m`).
pub fn format_duration(seconds: u64) -> String {
    match seconds {
        0 => "0s".to_owned(),
        s if s % DAY == 0 => format!("{}d", s / DAY),
        s if s % HOUR == 0 => format!("{}h", s / HOUR),
        s if s % MINUTE == 0 => format!("{}m", s / MINUTE),
        s => format!("{s}s"),
    }
}

/// Seconds in words (`5 minutes`, `1 day`, `90 seconds`).
pub fn human_duration(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s >= DAY && s % DAY == 0 => (s / DAY, "day"),
        s if s >= HOUR && s % HOUR == 0 => (s / HOUR, "hour"),
        s if s >= MINUTE && s % MINUTE == 0 => (s / MINUTE, "minute"),
        s => (s, "second"),
    };
    let mut out = format!("{n} {unit}");
    if n != 1 {
        out.push('s');
    }
    out
}

/// One setting as it stands: its value, where that comes from, and what can be entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SettingInfo {
    pub key: SettingKey,
    pub kind: SettingKind,
    pub label: String,
    pub description: String,
    /// The value in effect.
    pub value: SettingValue,
    /// The value in effect as text (`5m`, `30,14,7,1`, `on`, `info`).
    pub text: String,
    pub source: SettingSource,
    pub default_text: String,
    /// What is saved, also while the environment overrides it.
    pub saved_text: Option<String>,
    /// The variable that overrides the setting, if it has one.
    pub env: Option<String>,
    /// The variable's value, when it is set and used.
    pub env_text: Option<String>,
    /// The range in seconds (times) or days (reminders).
    #[ts(type = "[number, number] | null")]
    pub range: Option<(u64, u64)>,
    /// What may be entered, in words.
    pub accepts: String,
    /// A saved value or a variable that could not be used, and why.
    pub warning: Option<String>,
}

impl SettingInfo {
    pub fn overridden(&self) -> bool {
        self.source == SettingSource::Environment
    }
}

/// Every setting, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    entries: Vec<SettingInfo>,
}

impl Settings {
    /// Defaults, then the saved rows (`key`, canonical text), then the environment (`env`
    /// answers a variable's value). Rows of unknown keys (a newer version) are left alone.
    pub fn resolve(saved: &[(String, String)], env: &dyn Fn(&str) -> Option<String>) -> Self {
        let entries = SettingKey::ALL
            .into_iter()
            .map(|key| {
                let default = key.default_value();
                let mut warning = None;
                let saved_text = saved
                    .iter()
                    .find(|(k, _)| SettingKey::parse(k).ok() == Some(key))
                    .map(|(_, v)| v.clone());
                let saved_value = saved_text
                    .as_deref()
                    .and_then(|t| match key.parse_value(t) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            warning = Some(format!(
                                "The saved value \"{t}\" cannot be used ({}); the default applies.",
                                e.message()
                            ));
                            None
                        }
                    });
                let env_name = key.env();
                let env_raw = env_name.and_then(|name| env(name).map(|v| (name, v)));
                let env_value = env_raw
                    .as_ref()
                    .and_then(|(name, raw)| match key.parse_env(raw) {
                        Ok(v) => Some((raw.clone(), v)),
                        Err(why) => {
                            warning = Some(format!("{name}={raw} is ignored: {why}."));
                            None
                        }
                    });
                let (value, source, env_text) = match (env_value, saved_value) {
                    (Some((raw, v)), _) => (v, SettingSource::Environment, Some(raw)),
                    (None, Some(v)) => (v, SettingSource::Saved, None),
                    (None, None) => (default.clone(), SettingSource::Default, None),
                };
                SettingInfo {
                    key,
                    kind: key.kind(),
                    label: key.label().to_owned(),
                    description: key.description().to_owned(),
                    text: value.text(),
                    value,
                    source,
                    default_text: default.text(),
                    saved_text,
                    env: env_name.map(str::to_owned),
                    env_text,
                    range: key.range(),
                    accepts: key.accepts(),
                    warning,
                }
            })
            .collect();
        Self { entries }
    }

    /// [`Self::resolve`] with the process's environment.
    pub fn with_process_env(saved: &[(String, String)]) -> Self {
        Self::resolve(saved, &|name| std::env::var(name).ok())
    }

    /// Every setting, in the order of [`SettingKey::ALL`].
    pub fn list(&self) -> &[SettingInfo] {
        &self.entries
    }

    pub fn get(&self, key: SettingKey) -> &SettingInfo {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .expect("every key is resolved")
    }

    /// A time setting in seconds, only when it was chosen (saved, or from the environment):
    /// callers with their own built-in value (tests) keep it otherwise.
    pub fn chosen_seconds(&self, key: SettingKey) -> Option<u64> {
        let e = self.get(key);
        match (&e.value, e.source) {
            (_, SettingSource::Default) => None,
            (SettingValue::Duration { seconds }, _) => Some(*seconds),
            _ => None,
        }
    }

    /// The reminder thresholds, only when chosen (see [`Self::chosen_seconds`]).
    pub fn chosen_days(&self, key: SettingKey) -> Option<Vec<u32>> {
        let e = self.get(key);
        match (&e.value, e.source) {
            (_, SettingSource::Default) => None,
            (SettingValue::Days { days }, _) => Some(days.clone()),
            _ => None,
        }
    }

    /// Whether notifications of a kind are on.
    pub fn notifies(&self, kind: NotificationKind) -> bool {
        !matches!(
            self.get(kind.key()).value,
            SettingValue::Switch { on: false }
        )
    }

    /// The log file's filter: a saved level, or the default; `None` while `MAILCONN_LOG` sets it
    /// (the log was set up from the variable and stays so).
    pub fn log_filter(&self) -> Option<String> {
        let e = self.get(SettingKey::LogLevel);
        match (&e.value, e.source) {
            (_, SettingSource::Environment) => None,
            (SettingValue::Level { filter }, _) => Some(filter.clone()),
            _ => None,
        }
    }

    /// The chosen appearance.
    pub fn theme(&self) -> Theme {
        match self.get(SettingKey::Theme).value {
            SettingValue::Theme { theme } => theme,
            _ => Theme::default(),
        }
    }

    /// The settings as lines of text (`mailconn settings`).
    pub fn table(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let source = match (&e.env, &e.env_text) {
                (Some(name), Some(_)) if e.overridden() => format!("environment: {name}"),
                _ => e.source.as_str().to_owned(),
            };
            let _ = writeln!(out, "{:<20} {:<12} {source}", e.key.as_str(), e.text);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn saved(rows: &[(&str, &str)]) -> Vec<(String, String)> {
        rows.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_what_the_app_did_before_settings() {
        let s = Settings::resolve(&[], &no_env);
        let text = |k| s.get(k).text.clone();
        assert_eq!(text(SettingKey::RefreshMargin), "5m");
        assert_eq!(text(SettingKey::KeepAlive), "7d");
        assert_eq!(text(SettingKey::ReminderDays), "30,14,7,1");
        assert_eq!(text(SettingKey::NotifyConnections), "on");
        assert_eq!(text(SettingKey::LogLevel), "info");
        assert!(s.list().iter().all(|e| e.source == SettingSource::Default));
        assert_eq!(s.chosen_seconds(SettingKey::RefreshMargin), None);
        assert!(s.notifies(NotificationKind::Bridge));
        assert_eq!(s.log_filter().as_deref(), Some("info"));
        // The engine's and the reminders' built-in values are the same.
        let engine = crate::engine::Config::default();
        assert_eq!(
            u64::try_from(engine.margin.num_seconds()).unwrap(),
            DEFAULT_REFRESH_MARGIN
        );
        assert_eq!(
            u64::try_from(engine.keep_alive.num_seconds()).unwrap(),
            DEFAULT_KEEP_ALIVE
        );
        assert_eq!(
            crate::client_secret::reminders::DEFAULT_THRESHOLDS,
            DEFAULT_REMINDER_DAYS
        );
    }

    #[test]
    fn the_appearance_is_system_light_or_dark() {
        let s = Settings::resolve(&[], &no_env);
        assert_eq!(s.theme(), Theme::System);
        assert_eq!(s.get(SettingKey::Theme).text, "system");
        let k = SettingKey::Theme;
        assert_eq!(
            k.parse_value(" Dark ").unwrap(),
            SettingValue::Theme { theme: Theme::Dark }
        );
        let e = k.parse_value("blue").unwrap_err();
        assert_eq!(e.message(), "\"blue\" is not a theme.");
        assert_eq!(
            e.detail().and_then(|d| d.fix.as_deref()),
            Some("Theme accepts system, light or dark.")
        );
        let s = Settings::resolve(&saved(&[("theme", "light")]), &no_env);
        assert_eq!(s.theme(), Theme::Light);
        assert_eq!(s.get(k).source, SettingSource::Saved);
        // A value a newer version saved falls back to following the desktop, with a warning.
        let s = Settings::resolve(&saved(&[("theme", "sepia")]), &no_env);
        assert_eq!(s.theme(), Theme::System);
        assert!(s.get(k).warning.as_deref().unwrap().contains("sepia"));
    }

    #[test]
    fn values_are_parsed_with_units_and_written_canonically() {
        let k = SettingKey::RefreshMargin;
        for (typed, secs) in [
            ("10m", 600),
            ("600", 600),
            ("600s", 600),
            ("10 min", 600),
            (" 2 minutes ", 120),
            ("90s", 90),
        ] {
            assert_eq!(
                k.parse_value(typed).unwrap(),
                SettingValue::Duration { seconds: secs },
                "{typed}"
            );
        }
        assert_eq!(format_duration(90), "90s");
        assert_eq!(format_duration(600), "10m");
        assert_eq!(format_duration(7200), "2h");
        assert_eq!(format_duration(14 * DAY), "14d");
        assert_eq!(
            SettingKey::KeepAlive.parse_value("14 days").unwrap().text(),
            "14d"
        );
        assert_eq!(
            SettingKey::ReminderDays
                .parse_value("7, 30,1,7")
                .unwrap()
                .text(),
            "30,7,1"
        );
        assert_eq!(
            SettingKey::NotifySecrets.parse_value("OFF").unwrap(),
            SettingValue::Switch { on: false }
        );
        assert_eq!(
            SettingKey::LogLevel.parse_value("Debug").unwrap().text(),
            "debug"
        );
        assert_eq!(SettingKey::parse("refresh_margin").unwrap(), k);
    }

    #[test]
    fn out_of_range_and_malformed_values_say_what_is_allowed() {
        let cases = [
            (
                SettingKey::RefreshMargin,
                "45m",
                "Refresh margin of 45 minutes is too long: the longest is 30 minutes.",
            ),
            (
                SettingKey::RefreshMargin,
                "30s",
                "Refresh margin of 30 seconds is too short: the shortest is 1 minute.",
            ),
            (
                SettingKey::RefreshMargin,
                "soon",
                "\"soon\" is not a length of time for the refresh margin.",
            ),
            (
                SettingKey::KeepAlive,
                "90d",
                "Keep-alive interval of 90 days is too long: the longest is 60 days.",
            ),
            (
                SettingKey::KeepAlive,
                "12h",
                "Keep-alive interval of 12 hours is too short: the shortest is 1 day.",
            ),
            (
                SettingKey::ReminderDays,
                "30,0",
                "0 days is outside the range: each reminder is 1 to 365 days before the end date.",
            ),
            (
                SettingKey::ReminderDays,
                "thirty",
                "\"thirty\" is not a whole number of days.",
            ),
            (
                SettingKey::ReminderDays,
                "9,8,7,6,5,4,3,2,1",
                "9 reminders are too many: at most 8.",
            ),
            (
                SettingKey::ReminderDays,
                ",",
                "Give at least one number of days.",
            ),
            (
                SettingKey::NotifyBridge,
                "maybe",
                "\"maybe\" is neither on nor off.",
            ),
            (
                SettingKey::LogLevel,
                "verbose",
                "\"verbose\" is not a log level.",
            ),
            (SettingKey::LogLevel, "  ", "Log level needs a value."),
        ];
        for (key, typed, message) in cases {
            let e = key.parse_value(typed).unwrap_err();
            assert_eq!(e.message(), message, "{key:?} {typed}");
            assert_eq!(e.field(), Some(key.as_str()));
            let fix = e.detail().and_then(|d| d.fix.clone()).unwrap();
            assert!(fix.starts_with(key.label()), "{fix}");
        }
        let fix = SettingKey::RefreshMargin
            .parse_value("45m")
            .unwrap_err()
            .detail()
            .and_then(|d| d.fix.clone())
            .unwrap();
        assert_eq!(
            fix,
            "Refresh margin accepts from 1 minute to 30 minutes (e.g. 5m; units s, m, h, d)."
        );
        let e = SettingKey::parse("margin").unwrap_err();
        assert_eq!(e.message(), "There is no setting \"margin\".");
        assert!(
            e.detail()
                .and_then(|d| d.fix.clone())
                .unwrap()
                .contains("refresh-margin, keep-alive")
        );
    }

    #[test]
    fn saved_values_apply_and_unusable_ones_fall_back_with_a_warning() {
        let s = Settings::resolve(
            &saved(&[
                ("refresh-margin", "10m"),
                ("notify-bridge", "off"),
                ("keep-alive", "400d"),
                ("a-newer-key", "x"),
            ]),
            &no_env,
        );
        let m = s.get(SettingKey::RefreshMargin);
        assert_eq!((m.text.as_str(), m.source), ("10m", SettingSource::Saved));
        assert_eq!(s.chosen_seconds(SettingKey::RefreshMargin), Some(600));
        assert!(!s.notifies(NotificationKind::Bridge));
        assert!(s.notifies(NotificationKind::Secrets));
        let k = s.get(SettingKey::KeepAlive);
        assert_eq!(k.source, SettingSource::Default);
        assert_eq!(k.saved_text.as_deref(), Some("400d"));
        assert!(
            k.warning.as_deref().unwrap().starts_with(
                "The saved value \"400d\" cannot be used (Keep-alive interval of 400 days is too long"
            ),
            "{k:?}"
        );
    }

    #[test]
    fn the_environment_overrides_saved_values_without_a_range() {
        let env = |name: &str| match name {
            ENV_REFRESH_MARGIN => Some("1".to_owned()),
            ENV_REMINDER_DAYS => Some("60,30,7".to_owned()),
            ENV_LOG => Some("mailconn_core=debug,warn".to_owned()),
            ENV_KEEP_ALIVE => Some("a week".to_owned()),
            _ => None,
        };
        let s = Settings::resolve(
            &saved(&[("refresh-margin", "10m"), ("log-level", "trace")]),
            &env,
        );
        let m = s.get(SettingKey::RefreshMargin);
        assert_eq!(m.source, SettingSource::Environment);
        assert_eq!(m.text, "1s");
        assert_eq!(m.saved_text.as_deref(), Some("10m"));
        assert_eq!(m.env.as_deref(), Some(ENV_REFRESH_MARGIN));
        assert_eq!(m.env_text.as_deref(), Some("1"));
        assert!(m.overridden());
        assert_eq!(s.chosen_seconds(SettingKey::RefreshMargin), Some(1));
        assert_eq!(
            s.chosen_days(SettingKey::ReminderDays),
            Some(vec![60, 30, 7])
        );
        assert_eq!(s.get(SettingKey::LogLevel).text, "mailconn_core=debug,warn");
        assert_eq!(s.log_filter(), None, "the variable set up the log");
        let k = s.get(SettingKey::KeepAlive);
        assert_eq!(k.source, SettingSource::Default);
        assert_eq!(
            k.warning.as_deref(),
            Some(
                "MAILCONN_KEEP_ALIVE_SECS=a week is ignored: it is not a whole number of seconds."
            )
        );
        assert!(
            s.table()
                .contains("environment: MAILCONN_REFRESH_MARGIN_SECS")
        );
        let bad_log = |name: &str| (name == ENV_LOG).then(|| "=[".to_owned());
        let s = Settings::resolve(&[], &bad_log);
        assert_eq!(s.get(SettingKey::LogLevel).source, SettingSource::Default);
        assert!(
            s.get(SettingKey::LogLevel)
                .warning
                .as_deref()
                .unwrap()
                .starts_with("MAILCONN_LOG==[ is ignored: it is not a log filter")
        );
    }
}
