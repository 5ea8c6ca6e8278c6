#!/usr/bin/env bash
# The long crash-safety run: `kill -9` of the CLI at random points of 1,000 refresh and rotation
# cycles (MAILCONN_CRASH_CYCLES to change) against the test identity provider with 2-second
# access tokens and a real GNOME Keyring; afterwards every connection must still refresh.
# `scripts/test.sh` runs a 50-cycle sample of the same test. Then the desktop app is killed the
# same way during its background refreshes (MAILCONN_DESKTOP_CRASH_CYCLES, default 50) under Xvfb.
# The figures go to artifacts/crash-soak.txt (see docs/CRASH-SAFETY.md). Takes about 10 minutes
# after the builds.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

export MAILCONN_ARTIFACTS="${MAILCONN_ARTIFACTS:-$ROOT/artifacts}"
mkdir -p "$MAILCONN_ARTIFACTS"
export MAILCONN_CRASH_CYCLES="${MAILCONN_CRASH_CYCLES:-1000}"
export MAILCONN_CRASH_REPORT="$MAILCONN_ARTIFACTS/crash-soak.txt"
log "kill -9 during $MAILCONN_CRASH_CYCLES refresh and rotation cycles"
"$ROOT/scripts/with-keyring.sh" nice -n 10 \
  cargo test -p mailconn-cli --locked --test crash -- --include-ignored --nocapture
log "figures: $(cat "$MAILCONN_CRASH_REPORT")"

log "kill -9 of the desktop app during background refreshes"
build_ui
cargo build -p mailconn-desktop --locked
export MAILCONN_APP="$CARGO_TARGET_DIR/debug/mailconn-desktop"
export MAILCONN_DESKTOP_CRASH_CYCLES="${MAILCONN_DESKTOP_CRASH_CYCLES:-50}"
"$ROOT/scripts/with-keyring.sh" xvfb-run -a nice -n 10 \
  cargo test -p mailconn-cli --locked --test crash -- --include-ignored --nocapture kill_9_of_the_desktop_app \
  | tee -a "$MAILCONN_ARTIFACTS/crash-soak-desktop.txt"
