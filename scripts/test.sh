#!/usr/bin/env bash
# Installs everything the tests need and runs every test: formatting, lints, UI checks and unit
# tests, Rust unit and integration tests (real Secret Service), the test identity provider's own
# tests, and the end-to-end tests of the real app under Xvfb. Artifacts go to ./artifacts.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" test
export MAILCONN_ARTIFACTS="${MAILCONN_ARTIFACTS:-$ROOT/artifacts}"
mkdir -p "$MAILCONN_ARTIFACTS"

log "cargo fmt --check"
cargo fmt --all -- --check

log "interface: build, svelte-check, unit tests"
build_ui
(cd ui && npm run --silent check && npm test --silent)

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "Rust tests (inside a private D-Bus session with an unlocked GNOME Keyring)"
"$ROOT/scripts/with-keyring.sh" cargo test --workspace --locked -- --include-ignored

log "fuzz targets, a short sample (scripts/fuzz.sh for the long run)"
"$ROOT/scripts/fuzz.sh" 5

log "test identity provider self-tests"
node --test --test-timeout=120000 tests/idp/

log "Graph stand-in self-tests"
node --test --test-timeout=120000 tests/graph/

log "end-to-end tests of the real app"
cargo build -p mailconn-desktop -p mailconn-cli --locked
export MAILCONN_APP="$CARGO_TARGET_DIR/debug/mailconn-desktop"
export MAILCONN_CLI="$CARGO_TARGET_DIR/debug/mailconn"
"$ROOT/scripts/with-keyring.sh" node --test --test-concurrency=1 --test-timeout=600000 tests/e2e/

log "all tests passed"
