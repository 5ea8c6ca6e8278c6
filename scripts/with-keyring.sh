#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with its own unlocked GNOME Keyring (a real
# Secret Service), so tests use a real keychain without touching the user's session or keyrings.
set -euo pipefail

if [ -z "${MAILCONN_KEYRING_SESSION:-}" ]; then
  tmp="$(mktemp -d)"
  chmod 700 "$tmp"
  mkdir -m 700 -p "$tmp/run" "$tmp/data/dbus-1/services"
  # The keyring's known password, and how D-Bus starts the Secret Service in this session, at
  # first and after a crash: gnome-keyring-daemon can abort (a GLib assertion) when clients are
  # killed in the middle of a call, as the crash tests do. D-Bus then starts it again on the next
  # call, the way a desktop session does, and this service file makes every start unlock the same
  # keyring (its items are on disk) instead of waiting for a password prompt nobody can answer.
  # It must exist before the bus starts.
  printf 'mailconn-test-keyring' >"$tmp/run/keyring-password"
  cat >"$tmp/run/keyring-start" <<SH
#!/bin/sh
echo \$\$ >>"$tmp/run/keyring.pids"
exec gnome-keyring-daemon --foreground --unlock --components=secrets <"$tmp/run/keyring-password"
SH
  chmod 700 "$tmp/run/keyring-start"
  printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$tmp/run/keyring-start" \
    >"$tmp/data/dbus-1/services/org.freedesktop.secrets.service"
  status=0
  env -u DBUS_SESSION_BUS_ADDRESS MAILCONN_KEYRING_SESSION=1 \
    XDG_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data" \
    dbus-run-session -- "$0" "$@" || status=$?
  rm -rf "$tmp"
  exit "$status"
fi

# Inside the session: D-Bus starts the keyring through the service file above, which creates and
# unlocks the default "login" collection with the known password.
dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
  org.freedesktop.DBus.StartServiceByName string:org.freedesktop.secrets uint32:0 >/dev/null
status=0
"$@" || status=$?
while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$XDG_RUNTIME_DIR/keyring.pids"
exit "$status"
