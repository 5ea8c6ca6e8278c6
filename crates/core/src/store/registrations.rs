//! The `registrations` table: the user's Entra app registrations, without their secrets (those
//! are in the keychain, keyed by the registration's id).

/// Schema version 1.
pub(super) const V1: &str = "
CREATE TABLE registrations (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    client_id       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('public', 'confidential')),
    tenant          TEXT NOT NULL,
    cloud           TEXT NOT NULL,
    authority_url   TEXT,
    graph_url       TEXT,
    usage           TEXT NOT NULL CHECK (usage IN ('delegated', 'application', 'both')),
    audience        TEXT NOT NULL,
    preset          TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    has_secret      INTEGER NOT NULL DEFAULT 0,
    secret_label    TEXT,
    secret_hint     TEXT,
    secret_expires  TEXT,
    last_test_at    TEXT,
    last_test_ok    INTEGER,
    last_test_note  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
";
