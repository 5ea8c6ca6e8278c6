#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with its own unlocked GNOME Keyring (a real
# Secret Service), so tests use a real keychain without touching the user's session or keyrings.
set -euo pipefail

if [ -z "${MAILCONN_KEYRING_SESSION:-}" ]; then
  tmp="$(mktemp -d)"
  chmod 700 "$tmp"
  mkdir -m 700 -p "$tmp/run" "$tmp/data"
  status=0
  env -u DBUS_SESSION_BUS_ADDRESS MAILCONN_KEYRING_SESSION=1 \
    XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data" \
    dbus-run-session -- "$0" "$@" || status=$?
  rm -rf "$tmp"
  exit "$status"
fi

# Inside the session: start the keyring with a known password, which also creates and unlocks
# the default "login" collection.
printf 'mailconn-test-keyring' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
keyring_pid="$(pgrep -n -u "$(id -u)" gnome-keyring-d || true)"
status=0
"$@" || status=$?
[ -n "$keyring_pid" ] && kill "$keyring_pid" 2>/dev/null || true
exit "$status"
