//! The exported `az` script run with a local Azure CLI, for administrators who have one signed
//! in: [`Service::azure_cli`] says whether `az` is installed and signed in (`az account show`);
//! [`Service::run_az_script`] runs exactly the script the wizard exports for the plan (the shells
//! show it in full and ask first), captures its output, and saves the registration it printed
//! as if it had been pasted. The client secret the script prints goes to the keychain and is
//! replaced in the captured output.

use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use ts_rs::TS;

use super::Service;
use crate::Sensitive;
use crate::error::{Error, ErrorCode, Result};
use crate::registration::export::{PlanInput, plan_info};
use crate::registration::{ClientKind, Registration, RegistrationInput, is_guid};

/// The Azure CLI's program name (looked up on `PATH`).
const AZ: &str = "az";
/// `az account show` answers from its cache within seconds.
const STATUS_TIMEOUT: Duration = Duration::from_secs(30);
/// The whole script: a handful of Graph calls through the CLI.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);
/// Captured output beyond this is cut (the script prints a few lines).
const MAX_OUTPUT: usize = 256 * 1024;
/// What stands in the captured output for the secret's value.
pub const SECRET_PLACEHOLDER: &str = "[the secret's value: stored in the keychain]";

/// Whether a local Azure CLI can run the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AzureCli {
    pub installed: bool,
    pub signed_in: bool,
    /// The signed-in account (`user.name`).
    pub account: Option<String>,
    pub tenant_id: Option<String>,
    pub message: String,
}

/// What running the script did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AzScriptRun {
    pub ok: bool,
    pub exit_code: Option<i32>,
    /// Everything it printed (standard output and error in order), the secret replaced.
    pub output: String,
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    /// The registration saved from what the script printed.
    pub registration: Option<Registration>,
    pub message: String,
}

async fn run(
    args: &[&str],
    stdin: Option<&str>,
    timeout: Duration,
) -> std::io::Result<(Option<i32>, String)> {
    let mut child = tokio::process::Command::new(AZ)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await?;
        drop(pipe);
    }
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))??;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if text.len() > MAX_OUTPUT {
        let mut cut = MAX_OUTPUT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n[output cut]\n");
    }
    Ok((out.status.code(), text))
}

/// The value after `label` on the line that starts with it.
fn printed(output: &str, label: &str) -> Option<String> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The `{"secret_value": ..., "expires": ...}` object `az ad app credential reset` printed.
fn printed_secret(output: &str) -> Option<(Sensitive<String>, Option<chrono::NaiveDate>)> {
    let start = output.find('{')?;
    let mut depth = 0usize;
    for (i, c) in output[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let v: serde_json::Value =
                        serde_json::from_str(&output[start..=start + i]).ok()?;
                    let secret = v.get("secret_value")?.as_str()?.to_owned();
                    let expires = v
                        .get("expires")
                        .and_then(|e| e.as_str())
                        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
                        .map(|d| d.date_naive());
                    return Some((Sensitive::new(secret), expires));
                }
            }
            _ => {}
        }
    }
    None
}

impl Service {
    /// Whether `az` is installed here and signed in (`az account show`).
    pub async fn azure_cli(&self) -> AzureCli {
        match run(
            &["account", "show", "--output", "json"],
            None,
            STATUS_TIMEOUT,
        )
        .await
        {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AzureCli {
                installed: false,
                signed_in: false,
                account: None,
                tenant_id: None,
                message: "The Azure CLI (az) is not installed here.".into(),
            },
            Err(e) => AzureCli {
                installed: true,
                signed_in: false,
                account: None,
                tenant_id: None,
                message: format!("The Azure CLI did not answer: {e}."),
            },
            Ok((Some(0), out)) => {
                let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
                let account = v["user"]["name"].as_str().map(str::to_owned);
                let tenant_id = v["tenantId"].as_str().map(str::to_owned);
                AzureCli {
                    installed: true,
                    signed_in: true,
                    message: format!(
                        "The Azure CLI is signed in as {} (tenant {}).",
                        account.as_deref().unwrap_or("someone"),
                        tenant_id.as_deref().unwrap_or("unknown")
                    ),
                    account,
                    tenant_id,
                }
            }
            Ok(_) => AzureCli {
                installed: true,
                signed_in: false,
                account: None,
                tenant_id: None,
                message: "The Azure CLI is installed but not signed in: run az login first.".into(),
            },
        }
    }

    /// The script the wizard exports for these choices, exactly as [`Service::run_az_script`]
    /// runs it.
    pub fn az_script(input: &PlanInput) -> Result<String> {
        Ok(plan_info(input)?.az_script)
    }

    /// Runs the exported script with the local Azure CLI (the caller has shown it in full and
    /// the person confirmed), then saves the registration it printed.
    pub async fn run_az_script(&self, input: &PlanInput) -> Result<AzScriptRun> {
        let info = plan_info(input)?;
        // Standard error joins standard output, so the captured text keeps its order.
        let script = format!("exec 2>&1\n{}", info.az_script);
        let (exit_code, mut output) = run_bash(&script).await.map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("The script could not be run: {e}."),
            )
            .with_fix("Run it in Azure Cloud Shell instead, or continue in the manual wizard.")
        })?;
        let secret = printed_secret(&output);
        if let Some((value, _)) = &secret {
            output = output.replace(value.expose().as_str(), SECRET_PLACEHOLDER);
        }
        let client_id = printed(&output, "Application (client) ID:").filter(|v| is_guid(v));
        let tenant_id = printed(&output, "Directory (tenant) ID:").filter(|v| is_guid(v));
        let finished = exit_code == Some(0);
        let (Some(client), Some(tenant), true) = (&client_id, &tenant_id, finished) else {
            return Ok(AzScriptRun {
                ok: false,
                exit_code,
                output,
                client_id,
                tenant_id,
                registration: None,
                message: "The script did not finish: nothing was saved. Read its output, fix what it says, or continue in the manual wizard.".into(),
            });
        };
        let secret = match (info.kind, secret) {
            (ClientKind::Confidential, Some(s)) => Some(s),
            (ClientKind::Confidential, None) => {
                return Ok(AzScriptRun {
                    ok: false,
                    exit_code,
                    output,
                    client_id,
                    tenant_id,
                    registration: None,
                    message: "The app was created, but the script printed no client secret: create one in the portal and add the app in the manual wizard.".into(),
                });
            }
            (ClientKind::Public, _) => None,
        };
        let registration = RegistrationInput {
            name: if input.name.trim().is_empty() {
                "Mail Connections".into()
            } else {
                input.name.trim().to_owned()
            },
            client_id: client.clone(),
            kind: info.kind,
            tenant: super::create_app::saved_tenant(input, tenant),
            cloud: input.cloud,
            authority_url: input.authority_url.clone(),
            graph_url: input.graph_url.clone(),
            imap_server: None,
            pop_server: None,
            smtp_server: None,
            usage: input.usage,
            audience: input.audience,
            preset: input.preset,
            redirect_uri: Some(info.redirect_uri.clone()),
            secret_expires: secret.as_ref().and_then(|(_, e)| *e),
            secret_label: secret.as_ref().map(|_| "mailconn".to_owned()),
            secret: secret.map(|(s, _)| s),
        };
        let saved = self.add_registration(registration).await?;
        self.reminders_changed().await;
        Ok(AzScriptRun {
            ok: true,
            exit_code,
            output,
            client_id,
            tenant_id,
            message: format!(
                "Created with the Azure CLI and saved as \"{}\".",
                saved.registration.name
            ),
            registration: Some(saved.registration),
        })
    }
}

async fn run_bash(script: &str) -> std::io::Result<(Option<i32>, String)> {
    let mut child = tokio::process::Command::new("bash")
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(script.as_bytes()).await?;
        drop(pipe);
    }
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out after 5 minutes")
        })??;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.truncate(text.len().min(MAX_OUTPUT));
    Ok((out.status.code(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_output_is_read_for_ids_and_the_secret() {
        let out = "permission added\n{\n  \"expires\": \"2027-01-01T00:00:00+00:00\",\n  \"secret_value\": \"Fk18Q~value\"\n}\nApplication (client) ID: 0d3b2f3a-1c2b-4c5d-9e8f-123456789abc\nDirectory (tenant) ID:   72f988bf-86f1-41af-91ab-2d7cd011db47\n";
        assert_eq!(
            printed(out, "Application (client) ID:").as_deref(),
            Some("0d3b2f3a-1c2b-4c5d-9e8f-123456789abc")
        );
        assert_eq!(
            printed(out, "Directory (tenant) ID:").as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        let (secret, expires) = printed_secret(out).unwrap();
        assert_eq!(secret.expose(), "Fk18Q~value");
        assert_eq!(expires.unwrap().to_string(), "2027-01-01");
        assert!(printed_secret("no json here").is_none());
    }
}
