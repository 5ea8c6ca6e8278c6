//! `mailconn explain`: a known code (bare, with its prefix, inside Microsoft's pasted text or JSON,
//! from standard input), an unknown code, text without a code; the words printed, `--json`, and
//! the exit codes (0 explained, 7 not in the catalogue, 2 no code). Needs no service: no data
//! directory is created. Also, against the test identity provider: what `mailconn refresh` and
//! `status` say when Microsoft answers with a catalogue code of each class, and that pasting the
//! `--json` answer into `mailconn explain` explains it.

mod common;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

struct Run {
    out: Output,
    dir: tempfile::TempDir,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn code(&self) -> i32 {
        self.out.status.code().expect("exited")
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", self.stdout(), self.stderr()))
    }
}

fn mailconn(args: &[&str], stdin: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailconn"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let run = Run { out, dir };
    assert!(
        !run.dir.path().join("data").exists(),
        "explain must not create the data directory"
    );
    run
}

/// What Microsoft's token endpoint answers for a revoked sign-in.
const BODY_50173: &str = r#"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '2026-10-01T08:00:00Z' and the TokensValidFrom date (before which tokens are not valid) for this user is '2026-11-20T09:30:00Z'.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-11-30 09:12:01Z","error_codes":[50173],"timestamp":"2026-11-30 09:12:01Z","trace_id":"0000aaaa-11bb-cccc-dd22-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd","error_uri":"https://login.microsoftonline.com/error?code=50173"}"#;

#[test]
fn a_known_code_prints_its_meaning_cause_and_fix() {
    for arg in ["AADSTS50076", "50076", "aadsts50076"] {
        let run = mailconn(&["explain", arg], None);
        assert_eq!(run.code(), 0, "{arg}: {}", run.stderr());
        let text = run.stdout();
        eprintln!("mailconn explain {arg}:\n{text}");
        assert!(
            text.starts_with("AADSTS50076: Multi-factor authentication is required.\n"),
            "{text}"
        );
        for line in [
            "  kind: needs sign-in\n",
            "  likely cause: An administrator turned on multi-factor authentication",
            "  fix: Sign in again interactively.\n",
            "  what the app does: Refreshes stop and the connection shows 'needs sign-in'",
            "  Microsoft's words: UserStrongAuthClientAuthNRequired",
            "  more: https://login.microsoftonline.com/error?code=50076\n",
        ] {
            assert!(text.contains(line), "{arg}: missing {line:?} in\n{text}");
        }
        assert!(run.stderr().is_empty(), "{}", run.stderr());
    }
    // The client secret's entry names the portal page and the command that fixes it.
    let run = mailconn(&["explain", "AADSTS7000222"], None);
    assert_eq!(run.code(), 0);
    let text = run.stdout();
    assert!(text.contains("The client secret has expired."), "{text}");
    assert!(text.contains("Certificates & secrets"), "{text}");
    assert!(text.contains("mailconn app rotate-secret"), "{text}");
}

#[test]
fn a_pasted_microsoft_answer_is_explained_with_its_support_ids() {
    // As one argument, as several words, and on standard input (`-` and no argument).
    let words: Vec<&str> = BODY_50173.split(' ').collect();
    let mut runs = vec![
        mailconn(&["explain", BODY_50173], None),
        mailconn(&["explain", "-"], Some(BODY_50173)),
        mailconn(
            &["explain"],
            Some(&format!("token request failed: {BODY_50173}\n")),
        ),
    ];
    let mut args = vec!["explain"];
    args.extend(&words);
    runs.push(mailconn(&args, None));
    for run in &runs {
        assert_eq!(run.code(), 0, "{}", run.stderr());
        let text = run.stdout();
        for line in [
            "AADSTS50173: The sign-in was revoked, for example after a password change.\n",
            "  likely cause: The password was changed or reset",
            "  fix: Sign in again.\n",
            "  Microsoft said: AADSTS50173: The provided grant has expired due to it being revoked",
            "  error: invalid_grant\n",
            "  trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\n",
            "  correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\n",
            "  timestamp: 2026-11-30 09:12:01Z\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
    eprintln!("mailconn explain (pasted JSON):\n{}", runs[0].stdout());

    let run = mailconn(&["--json", "explain", "-"], Some(BODY_50173));
    assert_eq!(run.code(), 0);
    let json = run.json();
    assert_eq!(json["found"], "known");
    assert_eq!(json["code"], 50173);
    assert_eq!(json["class"], "sign_in");
    assert_eq!(json["remedy"], "sign_in_again");
    assert_eq!(json["oauth_error"], "invalid_grant");
    assert_eq!(json["trace_id"], "0000aaaa-11bb-cccc-dd22-eeeeee333333");
    assert_eq!(
        json["lookup_url"],
        "https://login.microsoftonline.com/error?code=50173"
    );
    for key in ["meaning", "cause", "fix", "consequence", "microsoft"] {
        assert!(
            json[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key}: {json:#}"
        );
    }
}

#[test]
fn an_unknown_code_shows_the_raw_text_and_where_to_look_it_up() {
    let pasted = "AADSTS4242424: Something Microsoft added last week.\r\nTrace ID: t-42\r\nCorrelation ID: c-42";
    let run = mailconn(&["explain", pasted], None);
    assert_eq!(run.code(), 7, "not in the catalogue: {}", run.stderr());
    let text = run.stdout();
    eprintln!("mailconn explain (unknown code):\n{text}");
    for line in [
        "AADSTS4242424 is not in Mail Connections' catalogue of Microsoft's codes.\n",
        "  Microsoft said: AADSTS4242424: Something Microsoft added last week.\n",
        "  trace ID: t-42\n",
        "  correlation ID: c-42\n",
        "Look it up at https://login.microsoftonline.com/error?code=4242424",
        "https://learn.microsoft.com/entra/identity-platform/reference-error-codes",
        "  text as given:\n    AADSTS4242424: Something Microsoft added last week.",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }

    let run = mailconn(&["--json", "explain", "4242424"], None);
    assert_eq!(run.code(), 7);
    let json = run.json();
    assert_eq!(json["found"], "unknown");
    assert_eq!(json["code"], 4_242_424);
    assert_eq!(json["text"], "4242424");
    assert!(
        json["search"]
            .as_str()
            .unwrap()
            .contains("error?code=4242424")
    );
    assert!(json.get("meaning").is_none() && json.get("remedy").is_none());
}

#[test]
fn text_without_a_code_is_a_usage_error_that_says_what_to_give() {
    for (args, stdin) in [
        (vec!["explain", "my", "mail", "stopped"], None),
        (vec!["explain", "-"], Some("")),
        (vec!["explain"], Some("{\"status\": \"broken\"}")),
    ] {
        let run = mailconn(&args, stdin);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stdout());
        assert!(run.stdout().is_empty(), "{}", run.stdout());
        let text = run.stderr();
        assert!(
            text.starts_with("error: No AADSTS code found. Give the code (AADSTS50076 or 50076), or paste Microsoft's whole error message or its JSON answer"),
            "{text}"
        );
        if args.len() > 2 {
            assert!(
                text.contains("  text as given:\n    my mail stopped"),
                "{text}"
            );
        }
    }
    let run = mailconn(&["--json", "explain", "garbage"], None);
    assert_eq!(run.code(), 2);
    let json = run.json();
    assert_eq!(json["found"], "no_code");
    assert_eq!(json["text"], "garbage");
    assert!(json.get("code").is_none());
}

#[test]
fn the_help_documents_the_exit_codes() {
    let run = mailconn(&["explain", "--help"], None);
    assert_eq!(run.code(), 0);
    let text = run.stdout();
    assert!(
        text.contains("7 the code is not in the catalogue"),
        "{text}"
    );
    assert!(text.contains("2 no AADSTS code was found"), "{text}");
    let run = mailconn(&["--help"], None);
    assert!(run.stdout().contains("explain"), "{}", run.stdout());
}

/// One code per class: what the user reads after a refresh, and `explain` on the JSON they got.
#[test]
#[ignore = "needs the test identity provider (node) and a Secret Service: run scripts/test.sh"]
fn a_refresh_meeting_each_class_is_explained_and_its_json_can_be_pasted_into_explain() {
    use mailconn_core::aadsts::{CATALOGUE, ErrorClass, lookup};
    let env = common::Env::new(&[]);
    env.add_app("desktop", "public", "common", None, &[]);
    let (out, json) = env.connect("desktop", "alice@contoso.test");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let id = json["id"].as_str().unwrap().to_owned();
    for class in ErrorClass::ALL {
        let entry = CATALOGUE.iter().find(|e| e.class == class).unwrap();
        let code = entry.code;
        let (error, status) = match class {
            ErrorClass::Secret => ("invalid_client", 401),
            ErrorClass::Transient => ("invalid_request", 400),
            _ => ("invalid_grant", 400),
        };
        let fault = serde_json::json!({"endpoint": "token", "mode": "aadsts", "count": 2,
            "code": code, "error": error, "status": status, "message": entry.microsoft});
        env.idp.post("/_control/faults", &fault);

        let out = env.run(&["refresh", &id], None);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!("{class:?}, AADSTS{code}: mailconn refresh\n{text}");
        assert!(!out.status.success(), "{text}");
        let expected_exit = match class {
            ErrorClass::SignIn | ErrorClass::Consent => 6,
            _ => 5,
        };
        assert_eq!(out.status.code(), Some(expected_exit), "{class:?}: {text}");
        assert!(
            text.contains(&format!("{} (AADSTS{code})", entry.meaning)),
            "{text}"
        );
        assert!(text.contains(&format!("  fix: {}", entry.fix)), "{text}");

        let status_text =
            String::from_utf8_lossy(&env.run(&["status", &id], None).stdout).into_owned();
        let state_words = match class {
            ErrorClass::Transient => "retrying",
            ErrorClass::Secret => "secret expired",
            ErrorClass::Consent => "needs consent",
            _ => "needs sign in",
        };
        assert!(
            status_text.contains(state_words),
            "{class:?}: {status_text}"
        );

        // The JSON the user got, pasted whole into `mailconn explain`.
        let out = env.run(&["--json", "refresh", &id], None);
        let pasted = String::from_utf8_lossy(&out.stdout).into_owned();
        let run = mailconn(&["--json", "explain", "-"], Some(&pasted));
        assert_eq!(run.code(), 0, "{pasted}");
        let explained = run.json();
        assert_eq!(explained["code"], code, "{explained:#}");
        assert_eq!(explained["fix"], entry.fix);
        assert_eq!(explained["oauth_error"], error);
        assert!(
            explained["trace_id"]
                .as_str()
                .is_some_and(|t| t.len() == 36),
            "{explained:#}"
        );
        assert_eq!(lookup(code).unwrap().remedy, entry.remedy);
    }
}
