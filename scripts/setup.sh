#!/usr/bin/env bash
# Installs what Mail Connections needs on Debian 12 / Ubuntu 22.04+: `setup.sh app` for building
# and running the app, `setup.sh test` for that plus everything the tests use. Idempotent.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

what="${1:-app}"
case "$what" in
  app) apt_ensure "${APP_PACKAGES[@]}" ;;
  test) apt_ensure "${APP_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}" ;;
  *) echo "usage: $0 app|test" >&2; exit 2 ;;
esac
ensure_toolchain
npm_ci "$ROOT/ui"

if [ "$what" = test ]; then
  npm_ci "$ROOT/tests/idp"
  npm_ci "$ROOT/tests/e2e"
  ensure_bench_venv  # MSAL for Python: scripts/test.sh's benchmark sample compares with it
  if ! cargo deny --version >/dev/null 2>&1; then
    log "installing cargo-deny"
    cargo install cargo-deny --locked --quiet
  fi
  # Fuzzing (scripts/fuzz.sh) needs cargo-fuzz and the nightly toolchain; without nightly it
  # runs the same targets as property tests on stable, so nothing else is installed then.
  if rustup run nightly rustc --version >/dev/null 2>&1; then
    if ! cargo fuzz --version >/dev/null 2>&1; then
      log "installing cargo-fuzz"
      cargo install cargo-fuzz --locked --quiet
    fi
  else
    log "no nightly Rust toolchain: fuzzing will run as property tests on stable"
  fi
  if ! command -v tauri-driver >/dev/null; then
    log "installing tauri-driver"
    cargo install tauri-driver --version '^2' --locked --quiet
  fi
fi
