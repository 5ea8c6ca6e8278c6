#!/usr/bin/env bash
# Installs everything the tests need and runs every test: formatting, lints, UI checks and unit
# tests, Rust unit and integration tests (real Secret Service), the test identity provider's own
# tests, and the end-to-end tests of the real app under Xvfb. Artifacts go to ./artifacts.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" test
export MAILCONN_ARTIFACTS="${MAILCONN_ARTIFACTS:-$ROOT/artifacts}"
mkdir -p "$MAILCONN_ARTIFACTS"
# What the secret-leak scan reads is this run's only.
rm -rf "$MAILCONN_ARTIFACTS/idp-tokens.log" "$MAILCONN_ARTIFACTS/bridge-passwords.log" "$MAILCONN_ARTIFACTS/data" "$MAILCONN_ARTIFACTS"/*.ipc.jsonl \
  "$MAILCONN_ARTIFACTS"/*.dom.txt

log "cargo fmt --check"
cargo fmt --all -- --check

log "interface: build, svelte-check, unit tests"
build_ui
(cd ui && npm run --silent check && npm test --silent)

log "supply chain: cargo deny (licenses, sources, bans)"
cargo deny --locked check licenses sources bans
# Advisories need the RustSec database (see deny.toml): fetched where GitHub is reachable, else a
# local copy; without either the check is skipped with a note, never passed silently.
if timeout 120 cargo deny --locked fetch db >/dev/null 2>&1 ||
  compgen -G "$HOME/.cargo/advisory-dbs/advisory-db-*/.git" >/dev/null; then
  log "supply chain: cargo deny advisories"
  cargo deny --locked --offline check advisories
else
  log "supply chain: NOTE: no RustSec advisory database could be had; the advisories check did not run"
fi
# The interface ships no runtime npm package (everything is bundled from devDependencies at build
# time), so the audit with --omit=dev checks nothing; the full audit is the one that says something.
npm_audit "$ROOT/ui" --omit=dev
npm_audit "$ROOT/ui"

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Includes crates/cli/tests/crash.rs: kill -9 during 50 refresh and rotation cycles (the sample;
# scripts/crash-soak.sh runs 1,000).
log "Rust tests (inside a private D-Bus session with an unlocked GNOME Keyring)"
"$ROOT/scripts/with-keyring.sh" cargo test --workspace --locked -- --include-ignored

log "fuzz targets, a short sample (scripts/fuzz.sh for the long run)"
"$ROOT/scripts/fuzz.sh" 5

log "mail bridge benchmark, a short sample (scripts/bench-bridge.py without --quick for the figures)"
cargo build -p mailconn-cli -p mailconn-testkit --bin mailconn --bin mail-servers --locked
"$ROOT/scripts/with-keyring.sh" python3 "$ROOT/scripts/bench-bridge.py" --quick

log "guides: docs/guides/troubleshooting.md says what the AADSTS catalogue says (scripts/guides-aadsts.py rewrites it)"
python3 "$ROOT/scripts/guides-aadsts.py" --check --cli "$CARGO_TARGET_DIR/debug/mailconn"

log "benchmark, a short sample (scripts/bench.sh without --quick writes docs/benchmarks.md)"
cargo build -p mailconn-cli -p mailconn-testkit --bin mailconn --bin ss-bench --locked
"$ROOT/scripts/with-keyring.sh" python3 "$ROOT/scripts/bench.py" --quick --profile debug --only refresh,mailboxes,sizes

log "test identity provider self-tests"
node --test --test-timeout=120000 tests/idp/

log "Graph stand-in self-tests"
node --test --test-timeout=120000 tests/graph/

log "end-to-end tests of the real app"
cargo build -p mailconn-desktop -p mailconn-cli --locked
cargo build -p mailconn-testkit --bin mail-servers --locked
export MAILCONN_APP="$CARGO_TARGET_DIR/debug/mailconn-desktop"
export MAILCONN_CLI="$CARGO_TARGET_DIR/debug/mailconn"
"$ROOT/scripts/with-keyring.sh" node --test --test-concurrency=1 --test-timeout=600000 tests/e2e/

log "packages: build the .deb and .rpm, install the .deb, run the installed app and CLI, remove it"
"$ROOT/tests/package/install.sh"

log "crash safety: kill -9 of the desktop app during background refreshes (10 cycles; scripts/crash-soak.sh runs 50)"
MAILCONN_DESKTOP_CRASH_CYCLES=10 "$ROOT/scripts/with-keyring.sh" xvfb-run -a \
  cargo test -p mailconn-cli --locked --test crash -- --include-ignored --nocapture kill_9_of_the_desktop_app

log "secret-leak scan of the artifacts (databases, logs, IPC answers, screenshot DOM text)"
python3 "$ROOT/scripts/leak-scan.py" --self-test
python3 "$ROOT/scripts/leak-scan.py" --require-tokens "$MAILCONN_ARTIFACTS"

log "all tests passed"
