//! The `events` table: each connection's history (connected, refreshed, failed, verified, ...).

/// Schema version 3.
pub(super) const V1: &str = "
CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id  TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    kind           TEXT NOT NULL,
    summary        TEXT NOT NULL,
    aadsts         INTEGER,
    trace_id       TEXT,
    correlation_id TEXT
);
CREATE INDEX events_by_connection ON events (connection_id, at);
";
