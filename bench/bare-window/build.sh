#!/usr/bin/env bash
# Builds the bare window (release, like the app's benchmark build) into its own target directory
# and prints the binary's path. Usage: bench/bare-window/build.sh [--debug]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export CARGO_TARGET_DIR="${BARE_WINDOW_TARGET:-$HOME/.cache/mailconn/target-bare-window}"
profile=release
args=(--release)
if [[ "${1:-}" == "--debug" ]]; then profile=debug; args=(); fi
cargo build --locked "${args[@]}" --manifest-path "$HERE/Cargo.toml" >&2
echo "$CARGO_TARGET_DIR/$profile/bare-window"
