//! "Use in a mail program": the settings of each program for a connection (`mail_programs`),
//! with its alias, its servers, what it was granted and the command that starts `mailconn`.

use super::Service;
use crate::connection::ConnectionKind;
use crate::error::{Error, Result};
use crate::flow::identity::AccountType;
use crate::mail_programs::{self, Program, Setup, Snippet};
use crate::mail_servers::MailProtocol;
use crate::paths::default_data_dir;
use crate::resource::Resource;

impl Service {
    /// The settings of every program (or of one) for a connection. `command` is how the command
    /// line tool is started; by default `mailconn`, with `--data-dir` when this data directory is
    /// not the platform's default.
    pub async fn mail_program_settings(
        &self,
        selector: &str,
        program: Option<Program>,
        command: Option<Vec<String>>,
    ) -> Result<Vec<Snippet>> {
        let conn = self.connection(selector).await?;
        if conn.kind == ConnectionKind::Application {
            return Err(Error::invalid(
                "connection",
                format!(
                    "{} is reached through application access: mail programs need a mailbox \
                     someone signed in to.",
                    conn.address
                ),
            )
            .with_fix(
                "Connect the mailbox by signing in with the \"Mail programs\" permissions.",
            ));
        }
        let registration = self.registration(&conn.registration_id).await?;
        let servers = registration.mail_servers(conn.account_type == AccountType::Personal);
        let consented = [&conn.scopes_requested[..], &conn.scopes_granted[..]].concat();
        let granted: Vec<MailProtocol> = [
            (MailProtocol::Imap, Resource::Imap),
            (MailProtocol::Pop, Resource::Pop),
            (MailProtocol::Smtp, Resource::Smtp),
        ]
        .into_iter()
        .filter(|(_, r)| r.allowed_by(&consented))
        .map(|(p, _)| p)
        .collect();
        let command = command.unwrap_or_else(|| self.command_words());
        let setup = Setup {
            address: &conn.address,
            display_name: conn.display_name.as_deref(),
            selector: conn.alias.as_deref().unwrap_or(&conn.address),
            servers: &servers,
            granted: &granted,
            programs_allowed: conn.programs_allowed,
            command: &command,
        };
        Ok(match program {
            Some(p) => vec![mail_programs::snippet(p, &setup)],
            None => mail_programs::snippets(&setup),
        })
    }

    fn command_words(&self) -> Vec<String> {
        let mut words = vec!["mailconn".to_owned()];
        let root = self.data_dir().root();
        if default_data_dir().as_deref() != Some(root) {
            words.push("--data-dir".to_owned());
            words.push(root.display().to_string());
        }
        words
    }
}
