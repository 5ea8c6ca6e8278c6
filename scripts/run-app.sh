#!/usr/bin/env bash
# Installs what is missing, builds Mail Connections and opens it.
# Extra arguments go to the app (e.g. --data-dir DIR).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$ROOT/scripts/setup.sh" app
build_ui
log "building the app (the first build takes several minutes)"
cargo build --release -p mailconn-desktop -p mailconn-cli
log "built: $CARGO_TARGET_DIR/release/mailconn-desktop and the CLI $CARGO_TARGET_DIR/release/mailconn"

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  cat >&2 <<MSG
There is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open.
Run it inside a virtual display instead:
  xvfb-run -a $0 $*
MSG
  exit 1
fi
exec "$CARGO_TARGET_DIR/release/mailconn-desktop" "$@"
