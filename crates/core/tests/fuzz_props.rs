//! The fuzz targets as property tests, for machines without the nightly toolchain cargo-fuzz
//! needs (and as a quick sample in the test command). Each target gets random bytes, random text
//! built from the pieces its real input is made of, and the seed inputs in `fuzz/seeds/`.
//! `PROPTEST_CASES` sets the number of cases per strategy (default 300).

mod fuzz_targets;

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text made of `pieces` and random characters, like a real input gone wrong.
fn text_from(pieces: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| s.chars().take(6).collect::<String>()),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat().into_bytes())
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fuzz/seeds/{target}"));
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out.sort();
    out
}

fn run(target: &str, pieces: &'static [&'static str]) {
    for seed in seeds(target) {
        fuzz_targets::run(target, &seed);
    }
    let mut runner = TestRunner::new(config());
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |data| {
            fuzz_targets::run(target, &data);
            Ok(())
        })
        .unwrap();
    runner
        .run(&text_from(pieces), |data| {
            fuzz_targets::run(target, &data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn loopback_callback() {
    run(
        "loopback_callback",
        &[
            "/callback",
            "/",
            "?",
            "&",
            "=",
            "state=",
            "st-3f9a1c",
            "code=",
            "abc",
            "error=",
            "access_denied",
            "error_description=",
            "AADSTS65004%3A+",
            "Trace+ID%3A+",
            "%0A",
            "%",
            "%E9",
            "+",
            "#",
            "http://127.0.0.1:53682",
            "//",
            "trace_id=",
        ],
    );
}

#[test]
fn deep_link() {
    run(
        "deep_link",
        &[
            "mailconn://auth",
            "mailconn:",
            "//",
            "auth",
            "/",
            "?",
            "&",
            "=",
            "state=",
            "s1",
            "code=",
            "abc",
            "error=",
            "access_denied",
            "error_description=",
            "AADSTS50076",
            "%3A",
            "#",
            "@",
            "user:pw@",
            ":8080",
            "%00",
            "https://",
            "MAILCONN://AUTH",
        ],
    );
}

#[test]
fn microsoft_error() {
    run(
        "microsoft_error",
        &[
            "{",
            "}",
            "\"error\":",
            "\"invalid_grant\"",
            "\"error_description\":",
            "\"AADSTS70000: ",
            "Trace ID: ",
            "\\r\\n",
            "Correlation ID: ",
            "Timestamp: ",
            "\"error_codes\":",
            "[",
            "]",
            "70000",
            "4294967296",
            "-1",
            ",",
            "null",
            "\"",
            "\"trace_id\":",
            "\\u00e9",
            "AADSTS",
            "é",
        ],
    );
}

#[test]
fn addresses() {
    run(
        "addresses",
        &[
            "info@contoso.com",
            "@",
            ".",
            ",",
            ";",
            "\t",
            "\n",
            "\r\n",
            "\"",
            "<",
            ">",
            "mailto:",
            "Ann Lee",
            "\u{feff}",
            "#",
            " ",
            "contoso",
            ".com",
            "a..b",
            "-",
            "'",
            "\u{0}",
            "\u{200b}",
            "é",
            "ａ",
        ],
    );
}

#[test]
fn validators() {
    run(
        "validators",
        &[
            "\u{ff}",
            "0d3b2f3a-1c2b-4c5d-9e8f-123456789abc",
            "common",
            "organizations",
            "consumers",
            "contoso.onmicrosoft.com",
            "https://",
            "http://",
            "localhost",
            "127.0.0.1",
            "[::1]",
            "login.example.com",
            "/",
            "?",
            "#",
            "@",
            "user:pw@",
            ":",
            "-",
            "\u{2010}",
            "\u{ff10}",
            " ",
            "\t",
            "mailconn://auth",
            "2026-12-31",
        ],
    );
}

#[test]
fn every_target_is_tested_here_and_has_a_fuzz_binary() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    for target in fuzz_targets::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "{target}"
        );
        assert!(fuzz.join(format!("fuzz_targets/{target}.rs")).is_file());
        assert!(!seeds(target).is_empty());
    }
}
