//! The `connections` table: one row per connected mailbox (delegated sign-in or application
//! access). Refresh tokens are in the keychain under the connection's id, never here.

/// Schema version 2.
pub(super) const V1: &str = "
CREATE TABLE connections (
    id                TEXT PRIMARY KEY,
    registration_id   TEXT NOT NULL REFERENCES registrations(id),
    kind              TEXT NOT NULL CHECK (kind IN ('delegated', 'application')),
    account_key       TEXT NOT NULL,
    address           TEXT NOT NULL,
    display_name      TEXT,
    tenant_id         TEXT,
    account_type      TEXT NOT NULL,
    preset            TEXT NOT NULL,
    scopes_requested  TEXT NOT NULL,
    scopes_granted    TEXT NOT NULL,
    state             TEXT NOT NULL,
    state_reason      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_refresh_at   TEXT,
    access_expires_at TEXT,
    UNIQUE (registration_id, account_key)
);
";
