//! `mailconn settings`: the app's settings, the same ones its Settings page shows (list with
//! their source, `get`, `set`, `reset`). Changes apply without a restart: the running app picks
//! them up within a minute.

use mailconn_core::settings::{SettingInfo, SettingSource};
use mailconn_core::{Result, Service};

use crate::exit::Exit;
use crate::output::Output;

#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    #[command(subcommand)]
    pub command: Option<SettingsCommand>,
}

#[derive(Debug, clap::Subcommand)]
pub enum SettingsCommand {
    /// Print one setting's value (only the value, for scripts; --json: everything about it)
    Get {
        /// refresh-margin, keep-alive, reminder-days, notify-connections, notify-secrets,
        /// notify-bridge, log-level or theme
        key: String,
    },
    /// Save a setting: times as 90s, 5m, 2h or 7d; reminder days as 30,14,7,1; on or off;
    /// a log level (error, warn, info, debug, trace); the theme as system, light or dark
    Set { key: String, value: String },
    /// Forget a saved setting: its default applies again
    Reset { key: String },
}

fn source(s: &SettingInfo) -> String {
    match (&s.env, s.source) {
        (Some(name), SettingSource::Environment) => format!("environment ({name})"),
        (_, source) => source.as_str().to_owned(),
    }
}

fn print_list(list: &[SettingInfo]) {
    println!("{:<20} {:<14} {:<24} DEFAULT", "SETTING", "VALUE", "SOURCE");
    for s in list {
        println!(
            "{:<20} {:<14} {:<24} {}",
            s.key.as_str(),
            s.text,
            source(s),
            s.default_text
        );
    }
    for s in list {
        if let Some(w) = &s.warning {
            Output::warning(&format!("{}: {w}", s.key.as_str()));
        }
    }
}

/// What `set` and `reset` print: the value in effect, and what stands over it.
fn print_changed(s: &SettingInfo, what: &str) {
    println!("{}: {} ({what})", s.key.as_str(), s.text);
    if let (SettingSource::Environment, Some(name)) = (s.source, &s.env) {
        Output::warning(&format!(
            "{name} is set here and overrides it; the saved value applies where {name} is not set"
        ));
    }
}

pub async fn run(args: &SettingsArgs, service: &Service, out: Output) -> Result<Exit> {
    match &args.command {
        None => {
            let list = service.settings().await?;
            if out.json() {
                Output::print_json(&list);
            } else {
                print_list(&list);
            }
        }
        Some(SettingsCommand::Get { key }) => {
            let s = service.setting(key).await?;
            if out.json() {
                Output::print_json(&s);
            } else {
                println!("{}", s.text);
            }
        }
        Some(SettingsCommand::Set { key, value }) => {
            let s = service.set_setting(key, value).await?;
            if out.json() {
                Output::print_json(&s);
            } else {
                print_changed(&s, "saved");
            }
        }
        Some(SettingsCommand::Reset { key }) => {
            let s = service.reset_setting(key).await?;
            if out.json() {
                Output::print_json(&s);
            } else {
                print_changed(&s, "the default");
            }
        }
    }
    Ok(Exit::Ok)
}
