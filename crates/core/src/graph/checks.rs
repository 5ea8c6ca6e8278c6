//! The Graph calls of a deeper verification of a signed-in mailbox: its newest inbox message,
//! a test message to itself, its calendar. (The profile is `users::me_url`.)

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};

/// The subject a test message carries, so it is easy to find and delete.
pub const TEST_SUBJECT: &str = "[Mail Connections test] You can delete this message";

fn me_path(graph_base: &str, segments: &[&str], query: &str) -> Result<Url> {
    let mut url = Url::parse(graph_base)
        .map_err(|e| Error::invalid("graph_url", format!("The Graph address is not a URL: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| Error::invalid("graph_url", "The Graph address cannot hold a path."))?
        .pop_if_empty()
        .extend(["v1.0", "me"])
        .extend(segments);
    if !query.is_empty() {
        url.set_query(Some(query));
    }
    Ok(url)
}

/// `GET /me/mailFolders/inbox/messages?$top=1&$orderby=receivedDateTime desc&$select=subject,receivedDateTime`.
pub fn newest_message_url(graph_base: &str) -> Result<Url> {
    me_path(
        graph_base,
        &["mailFolders", "inbox", "messages"],
        "$top=1&$orderby=receivedDateTime%20desc&$select=subject,receivedDateTime",
    )
}

/// `POST /me/sendMail`.
pub fn send_mail_url(graph_base: &str) -> Result<Url> {
    me_path(graph_base, &["sendMail"], "")
}

/// `GET /me/events?$top=1&$select=subject,start`.
pub fn events_url(graph_base: &str) -> Result<Url> {
    me_path(graph_base, &["events"], "$top=1&$select=subject,start")
}

/// `sendMail`'s body: a plain-text message to the mailbox itself, marked as a test in subject
/// and body, not kept in Sent Items.
pub fn test_message(address: &str, sent_at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    serde_json::json!({
        "message": {
            "subject": TEST_SUBJECT,
            "body": {
                "contentType": "Text",
                "content": format!(
                    "This is a test message from Mail Connections, sent at {} to check that this connection can send mail. You can delete it.",
                    sent_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            },
            "toRecipients": [{ "emailAddress": { "address": address } }],
        },
        "saveToSentItems": false,
    })
}

/// A page of messages with only what the check selects.
#[derive(Debug, Clone, Deserialize)]
pub struct Messages {
    #[serde(default)]
    pub value: Vec<MessageSummary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSummary {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub received_date_time: Option<String>,
}

/// A page of events with only what the check selects.
#[derive(Debug, Clone, Deserialize)]
pub struct Events {
    #[serde(default)]
    pub value: Vec<EventSummary>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventSummary {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub start: Option<DateTimeTimeZone>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    #[serde(default)]
    pub date_time: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            newest_message_url("http://127.0.0.1:9/g/")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/g/v1.0/me/mailFolders/inbox/messages?$top=1&$orderby=receivedDateTime%20desc&$select=subject,receivedDateTime"
        );
        assert_eq!(
            send_mail_url("https://graph.microsoft.com")
                .unwrap()
                .as_str(),
            "https://graph.microsoft.com/v1.0/me/sendMail"
        );
        assert_eq!(
            events_url("https://graph.microsoft.com").unwrap().as_str(),
            "https://graph.microsoft.com/v1.0/me/events?$top=1&$select=subject,start"
        );
    }

    #[test]
    fn the_test_message_is_marked_and_goes_to_the_mailbox_itself() {
        let m = test_message("alice@contoso.test", chrono::Utc::now());
        assert!(m["message"]["subject"].as_str().unwrap().contains("test"));
        assert!(
            m["message"]["body"]["content"]
                .as_str()
                .unwrap()
                .contains("test message")
        );
        assert_eq!(
            m["message"]["toRecipients"][0]["emailAddress"]["address"],
            "alice@contoso.test"
        );
    }
}
