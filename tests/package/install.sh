#!/usr/bin/env bash
# The packages as a person gets them: builds the .deb and .rpm (scripts/package.sh; --debug by
# default so the test command reuses its build, MAILCONN_PACKAGE_PROFILE=release for the real
# thing), installs the .deb on this machine with apt, checks what it put where, starts the
# installed app under Xvfb until its window appears, checks the mailconn:// scheme is registered,
# runs the installed `mailconn doctor`, removes the package and checks nothing is left behind.
# Also reads the .rpm's metadata and file list. Needs root (or sudo) for apt.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$ROOT"

PACKAGE=mail-connections
DESKTOP="/usr/share/applications/Mail Connections.desktop"
fail() { printf 'package test FAILED: %s\n' "$*" >&2; exit 1; }
check() { local what="$1"; shift; "$@" >/dev/null 2>&1 || fail "$what"; }

# Inside the private keyring session (the app and the CLI need a Secret Service): the installed
# app's window, then `mailconn doctor`.
if [ "${1:-}" = --installed ]; then
  data="$(mktemp -d)"
  trap 'rm -rf "$data"' EXIT
  /usr/bin/mailconn-desktop --data-dir "$data/app" >"$data/app.log" 2>&1 &
  app=$!
  seen=""
  for _ in $(seq 1 120); do
    if xwininfo -root -tree 2>/dev/null | grep -q '"Mail Connections"'; then seen=1; break; fi
    kill -0 "$app" 2>/dev/null || break
    sleep 0.5
  done
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  [ -n "$seen" ] || { cat "$data/app.log" >&2; fail "the installed app's window did not appear"; }
  log "package: the installed app opened its window"
  out="$(/usr/bin/mailconn --data-dir "$data/cli" doctor 2>&1)" ||
    { printf '%s\n' "$out" >&2; fail "the installed mailconn doctor failed"; }
  grep -qi keychain <<<"$out" || fail "mailconn doctor did not report the keychain: $out"
  log "package: the installed mailconn doctor passed"
  exit 0
fi

profile_flag=(--debug)
[ "${MAILCONN_PACKAGE_PROFILE:-debug}" = release ] && profile_flag=()
"$ROOT/scripts/package.sh" "${profile_flag[@]}"

debs=("$ROOT"/dist/*.deb)
rpms=("$ROOT"/dist/*.rpm)
[ -f "${debs[0]}" ] || fail "no .deb in dist/"
[ -f "${rpms[0]}" ] || fail "no .rpm in dist/"

# What the .deb declares.
deps="$(dpkg-deb -f "${debs[0]}" Depends)"
for want in libwebkit2gtk-4.1-0 libayatana-appindicator3-1 gnome-keyring libsecret-1-0; do
  grep -q "$want" <<<"$deps" || fail "the .deb does not depend on $want (Depends: $deps)"
done

# The .rpm: metadata, requirements and files.
rpm -qip "${rpms[0]}" 2>/dev/null | grep -q '^Name *: mail-connections' || fail "the .rpm's name"
rpm -qp --requires "${rpms[0]}" 2>/dev/null | grep -q libsecret || fail "the .rpm does not require libsecret"
rpm_files="$(rpm -qlp "${rpms[0]}" 2>/dev/null)"
for f in /usr/bin/mailconn /usr/bin/mailconn-desktop "$DESKTOP" /usr/share/man/man1/mailconn.1.gz; do
  grep -qxF "$f" <<<"$rpm_files" || fail "the .rpm does not contain $f"
done
log "package: the .rpm's metadata and files are right"

# Install, as a person would (a leftover from an earlier run goes first).
as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$PACKAGE" >/dev/null 2>&1 || true
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[0]}" \
  >/dev/null || fail "apt-get install of the .deb"
trap 'as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$PACKAGE" >/dev/null 2>&1 || true' EXIT

check "/usr/bin/mailconn-desktop is not installed" test -x /usr/bin/mailconn-desktop
check "/usr/bin/mailconn is not installed" test -x /usr/bin/mailconn
check "the desktop entry is not installed" test -f "$DESKTOP"
check "the desktop entry does not validate" desktop-file-validate "$DESKTOP"
grep -qx 'MimeType=x-scheme-handler/mailconn;' "$DESKTOP" || fail "the desktop entry does not register mailconn://"
grep -q '^Exec=mailconn-desktop %u$' "$DESKTOP" || fail "the desktop entry does not pass the link (%u)"
for size in 16 24 32 48 64 128 256 512; do
  check "no ${size}x${size} icon" test -f "/usr/share/icons/hicolor/${size}x${size}/apps/mailconn-desktop.png"
done
check "no bash completion" test -f /usr/share/bash-completion/completions/mailconn
check "no zsh completion" test -f /usr/share/zsh/vendor-completions/_mailconn
check "no fish completion" test -f /usr/share/fish/vendor_completions.d/mailconn.fish
check "no manual page" test -f /usr/share/man/man1/mailconn.1.gz
zcat /usr/share/man/man1/mailconn.1.gz | grep -q '^\.TH mailconn' || fail "the manual page is not roff for mailconn"
grep -q 'complete -F' /usr/share/bash-completion/completions/mailconn || fail "the bash completion is not one"
/usr/bin/mailconn --version | grep -q mailconn || fail "the installed mailconn --version"
log "package: the .deb installed the app, the CLI, the desktop entry, icons, completions and manual pages"

# The scheme: the desktop database lists the entry for mailconn://, and xdg-mime answers with it.
check "update-desktop-database" as_root update-desktop-database /usr/share/applications
grep -q '^x-scheme-handler/mailconn=.*Mail Connections.desktop' /usr/share/applications/mimeinfo.cache ||
  fail "the desktop database does not list the app for x-scheme-handler/mailconn"
handler="$(XDG_CURRENT_DESKTOP=X-Generic xdg-mime query default x-scheme-handler/mailconn 2>/dev/null || true)"
[ "$handler" = "Mail Connections.desktop" ] || fail "xdg-mime says the mailconn:// handler is '$handler'"
log "package: xdg-mime opens mailconn:// links with Mail Connections.desktop"

"$ROOT/scripts/with-keyring.sh" xvfb-run -a "$0" --installed

# Removal leaves nothing of the package behind.
as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "$PACKAGE" >/dev/null || fail "apt-get remove"
trap - EXIT
if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "install ok installed"; then
  fail "the package is still installed after apt-get remove"
fi
for f in /usr/bin/mailconn /usr/bin/mailconn-desktop "$DESKTOP" /usr/share/man/man1/mailconn.1.gz \
  /usr/share/bash-completion/completions/mailconn /usr/share/icons/hicolor/512x512/apps/mailconn-desktop.png; do
  [ ! -e "$f" ] || fail "$f is left after removal"
done
log "package: removed cleanly"
