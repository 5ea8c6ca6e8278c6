//! Mailbox addresses as people type, paste or export them: one address, a list with one address a
//! line, or a CSV file (any column holding addresses; a header row is skipped). Checks syntax
//! only; whether the mailbox exists is Graph's answer.

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Error, Result};

/// RFC 5321's limits: 64 characters before the `@`, 254 in all.
const MAX_LOCAL: usize = 64;
const MAX_ADDRESS: usize = 254;
/// A pasted list or imported file larger than this is refused rather than half-processed.
pub const MAX_ENTRIES: usize = 5000;
/// Pasted text or an imported file larger than this is refused before it is read line by line.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// ... and so is one with more lines than this (blank lines and comments count).
pub const MAX_LINES: usize = 10_000;

/// One address as given, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ListEntry {
    /// 1-based line of the pasted text or file (the position for command-line arguments).
    pub line: u32,
    /// The text as given (one CSV cell, or the whole line when it holds no address).
    pub input: String,
}

/// An entry checked for syntax and duplicates, before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CheckedEntry {
    pub line: u32,
    pub input: String,
    /// The normalised address (lower case), when the syntax is right.
    pub address: Option<String>,
    /// Why it will not be looked up: bad syntax, or already listed on an earlier line.
    pub problem: Option<String>,
    /// The earlier line with the same address.
    pub duplicate_of: Option<u32>,
}

/// Checks one address and returns it in lower case (Exchange compares addresses without case).
/// Accepts `Name <address>` and `mailto:address`.
pub fn normalise(input: &str) -> Result<String> {
    let mut s = input.trim();
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        s = &s[open + 1..s.len() - 1];
    }
    s = s.trim().trim_matches('"').trim();
    // `get` and not `[..7]`: the text may have a multi-byte character across byte 7.
    if let Some(rest) = s
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| s.get(7..))
    {
        s = rest;
    }
    let invalid = |why: &str| Err(Error::invalid("address", why.to_owned()));
    if s.is_empty() {
        return invalid("Enter an email address, for example info@contoso.com.");
    }
    if s.chars().any(char::is_control) {
        return invalid("An email address has no control characters (tabs, line breaks, ...).");
    }
    if !s.is_ascii() {
        return invalid(
            "Only plain ASCII addresses can be added: this one has accented or other non-ASCII letters. Use the mailbox's ASCII primary address (Exchange shows it as the primary SMTP address).",
        );
    }
    if s.chars().any(char::is_whitespace) {
        return invalid("An email address has no spaces.");
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return invalid("An email address needs an @ between the name and the domain.");
    };
    if local.is_empty() || local.len() > MAX_LOCAL || s.len() > MAX_ADDRESS {
        return invalid(
            "The part before the @ must be 1 to 64 characters, and the whole address at most 254.",
        );
    }
    let local_ok = local.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
    });
    if !local_ok {
        return invalid(
            "The part before the @ has a character email addresses cannot use (or two dots in a row).",
        );
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !domain_ok {
        return invalid("The part after the @ is not a domain like contoso.com.");
    }
    Ok(s.to_ascii_lowercase())
}

/// Splits one CSV line on commas, semicolons or tabs, honouring double quotes.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' | ';' | '\t' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect()
}

/// The entries of a pasted list or file. A line whose cells are all addresses gives each of them
/// (`a@x.com, b@x.com`); a CSV row gives its first address cell; a first line without any address
/// is a header and is skipped; blank lines and `#` comments are skipped; any other line is kept
/// whole so the result can say what is wrong with it.
pub fn parse_list(text: &str) -> Vec<ListEntry> {
    let mut entries = Vec::new();
    let mut seen_content = false;
    for (index, line) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = !seen_content;
        seen_content = true;
        let cells = fields(line);
        let mut push = |input: &str| {
            entries.push(ListEntry {
                line: line_no,
                input: input.to_owned(),
            });
        };
        let has_at: Vec<&String> = cells.iter().filter(|c| c.contains('@')).collect();
        if has_at.is_empty() {
            if !first {
                push(line);
            }
        } else if has_at.len() == cells.len() {
            for cell in cells {
                // "a@x.com b@x.com" in one cell is two addresses; "Ann <a@x.com>" is one.
                let words: Vec<&str> = cell.split_whitespace().collect();
                if words.len() > 1 && words.iter().all(|w| w.contains('@')) {
                    words.into_iter().for_each(&mut push);
                } else {
                    push(&cell);
                }
            }
        } else {
            push(has_at[0]);
        }
    }
    entries
}

/// Refuses pasted text or a file too large to check in one go, naming the limit.
pub fn require_small(text: &str) -> Result<()> {
    let fix = "Split the list into smaller parts and add them one after the other.";
    if text.len() > MAX_TEXT_BYTES {
        return Err(Error::invalid(
            "addresses",
            format!(
                "The list is {} KiB; at most 1 MiB (1024 KiB) can be checked at once.",
                text.len().div_ceil(1024)
            ),
        )
        .with_fix(fix));
    }
    let lines = text.lines().count();
    if lines > MAX_LINES {
        return Err(Error::invalid(
            "addresses",
            format!("The list has {lines} lines; at most {MAX_LINES} can be checked at once."),
        )
        .with_fix(fix));
    }
    Ok(())
}

/// [`parse_list`] of text within [`require_small`]'s limits.
pub fn parse_list_checked(text: &str) -> Result<Vec<ListEntry>> {
    require_small(text)?;
    Ok(parse_list(text))
}

/// Checks syntax and repeats (the first occurrence wins).
pub fn check(entries: &[ListEntry]) -> Vec<CheckedEntry> {
    let mut first_line: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    entries
        .iter()
        .map(|e| {
            let mut checked = CheckedEntry {
                line: e.line,
                input: e.input.clone(),
                address: None,
                problem: None,
                duplicate_of: None,
            };
            match normalise(&e.input) {
                Err(err) => checked.problem = Some(err.message().to_owned()),
                Ok(address) => {
                    if let Some(&earlier) = first_line.get(&address) {
                        checked.problem = Some(format!("Listed already, on line {earlier}."));
                        checked.duplicate_of = Some(earlier);
                    } else {
                        first_line.insert(address.clone(), e.line);
                    }
                    checked.address = Some(address);
                }
            }
            checked
        })
        .collect()
}

/// Refuses lists too long to handle in one go.
pub fn require_reasonable(entries: &[ListEntry]) -> Result<()> {
    if entries.is_empty() {
        return Err(
            Error::invalid("addresses", "No email addresses were given.")
                .with_fix("Enter one address, or paste a list with one address a line."),
        );
    }
    if entries.len() > MAX_ENTRIES {
        return Err(Error::invalid(
            "addresses",
            format!(
                "{} addresses are more than {MAX_ENTRIES} at once.",
                entries.len()
            ),
        )
        .with_fix("Split the list and add it in parts."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_lowercased() {
        assert_eq!(normalise(" Info@Contoso.COM ").unwrap(), "info@contoso.com");
        assert_eq!(
            normalise("Ann Lee <ann.lee+x@contoso.test>").unwrap(),
            "ann.lee+x@contoso.test"
        );
        assert_eq!(
            normalise("mailto:sales@contoso.test").unwrap(),
            "sales@contoso.test"
        );
        assert_eq!(
            normalise("\"o'brien@contoso.test\"").unwrap(),
            "o'brien@contoso.test"
        );
        for (bad, why) in [
            ("", "Enter an email address"),
            ("info", "needs an @"),
            ("info@", "not a domain"),
            ("@contoso.com", "1 to 64"),
            ("in fo@contoso.com", "no spaces"),
            ("a..b@contoso.com", "two dots"),
            ("a@contoso", "not a domain"),
            ("a@-contoso.com", "not a domain"),
            ("a@contoso.c0m", "not a domain"),
            ("a(b)@contoso.com", "character"),
        ] {
            let e = normalise(bad).unwrap_err();
            assert_eq!(e.field(), Some("address"));
            assert!(e.message().contains(why), "{bad}: {e}");
        }
        assert!(normalise(&format!("{}@x.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn lists_csv_and_headers() {
        let text = "\u{feff}Name,Email,Department\n\
                    \"Lee, Ann\",ann@contoso.test,Sales\n\
                    \n# a comment\n\
                    info@contoso.test; sales@contoso.test\n\
                    support@contoso.test support2@contoso.test\n\
                    Bob <bob@contoso.test>\n\
                    not an address\n";
        let entries = parse_list(text);
        let got: Vec<(u32, &str)> = entries.iter().map(|e| (e.line, e.input.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "ann@contoso.test"),
                (5, "info@contoso.test"),
                (5, "sales@contoso.test"),
                (6, "support@contoso.test"),
                (6, "support2@contoso.test"),
                (7, "Bob <bob@contoso.test>"),
                (8, "not an address"),
            ]
        );
        assert!(parse_list("user01@contoso.test\nuser02@contoso.test").len() == 2);
        assert!(parse_list("\n\n").is_empty());
    }

    #[test]
    fn repeats_and_bad_syntax_are_marked() {
        let entries = parse_list("a@contoso.test\nA@Contoso.test\nnope\nb@contoso.test");
        let checked = check(&entries);
        assert_eq!(checked[0].problem, None);
        assert_eq!(checked[1].duplicate_of, Some(1));
        assert_eq!(
            checked[1].problem.as_deref(),
            Some("Listed already, on line 1.")
        );
        assert_eq!(checked[2].address, None);
        assert!(checked[2].problem.as_deref().unwrap().contains('@'));
        assert_eq!(checked[3].address.as_deref(), Some("b@contoso.test"));
    }

    #[test]
    fn non_ascii_addresses_are_refused_without_a_panic() {
        for bad in [
            "éàèù@contoso.com",
            "mailto:éàèù@contoso.com",
            "Ann <éàèù@contoso.com>",
            "ab@é.com",
            "abcdefé@contoso.com",
            "é",
            "ééééééééé",
        ] {
            let e = normalise(bad).unwrap_err();
            assert_eq!(e.field(), Some("address"), "{bad}");
            assert!(
                e.message().contains("non-ASCII") || e.message().contains("needs an @"),
                "{bad}: {e}"
            );
        }
        assert!(
            normalise("éàèù@contoso.com")
                .unwrap_err()
                .message()
                .contains("accented or other non-ASCII letters")
        );
        assert!(
            normalise("a\u{7}b@contoso.com")
                .unwrap_err()
                .message()
                .contains("control characters")
        );
        let checked = check(&parse_list("éàèù@contoso.com\nok@contoso.com"));
        assert!(checked[0].problem.as_deref().unwrap().contains("non-ASCII"));
        assert_eq!(checked[1].address.as_deref(), Some("ok@contoso.com"));
    }

    #[test]
    fn pasted_text_over_the_limits_is_refused_naming_them() {
        let big = "a@contoso.com\n".repeat(MAX_TEXT_BYTES / 14 + 1);
        let e = parse_list_checked(&big).unwrap_err();
        assert_eq!(e.field(), Some("addresses"));
        assert!(e.message().contains("at most 1 MiB"), "{e}");
        let many = "\n".repeat(MAX_LINES + 1);
        let e = parse_list_checked(&many).unwrap_err();
        assert!(e.message().contains("at most 10000 can be checked"), "{e}");
        assert_eq!(parse_list_checked("a@contoso.com").unwrap().len(), 1);
    }

    #[test]
    fn empty_and_huge_lists_are_refused() {
        assert!(require_reasonable(&[]).is_err());
        let many: Vec<ListEntry> = (0..=MAX_ENTRIES)
            .map(|i| ListEntry {
                line: 1,
                input: format!("u{i}@x.com"),
            })
            .collect();
        assert!(
            require_reasonable(&many)
                .unwrap_err()
                .message()
                .contains("more than")
        );
    }
}
