#!/usr/bin/env bash
# The benchmark: installs what it needs (scripts/lib.sh's BENCH_PACKAGES, MSAL for Python into a
# venv under ~/.cache/mailconn/bench-venv), builds release, and runs scripts/bench.py inside a
# private D-Bus session with its own GNOME Keyring (scripts/with-keyring.sh). Writes
# docs/benchmarks.md (with --quick: $MAILCONN_ARTIFACTS/benchmarks-quick.md). Arguments go to
# bench.py: --only refresh|mailboxes|window|sizes|cli (comma-separated), --connections N, --runs N,
# --quick, --no-msal, --out FILE.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

apt_ensure "${APP_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
ensure_toolchain
npm_ci "$ROOT/ui"
npm_ci "$ROOT/tests/idp"
npm_ci "$ROOT/tests/e2e"

ensure_bench_venv

# The window part drives the app through tauri-driver (as the end-to-end tests do).
if [ -f "$ROOT/tests/e2e/bench-app.mjs" ] && ! command -v tauri-driver >/dev/null; then
  log "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
fi

log "release build"
build_ui
cargo build --release --locked -p mailconn-cli -p mailconn-desktop -p mailconn-testkit
# The bare Tauri window the launch and memory figures compare with, built with the same toolchain.
# (only when the window part runs: not with --quick, or with --only naming it).
window=1
prev=""
for a in "$@"; do
  case "$a" in
    --quick) window=0 ;;
    --only=*) [[ ",${a#--only=}," == *,window,* ]] && window=2 || window=0 ;;
  esac
  if [ "$prev" = --only ]; then [[ ",$a," == *,window,* ]] && window=2 || window=0; fi
  prev="$a"
done
if [ "$window" != 0 ] && [ -x "$ROOT/bench/bare-window/build.sh" ]; then
  MAILCONN_BARE_WINDOW="$("$ROOT/bench/bare-window/build.sh")"
  export MAILCONN_BARE_WINDOW
fi

log "benchmark (scripts/bench.py $*)"
"$ROOT/scripts/with-keyring.sh" python3 "$ROOT/scripts/bench.py" "$@"
