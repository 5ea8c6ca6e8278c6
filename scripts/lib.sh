# Shared helpers for the set-up scripts. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Cargo's build output stays out of the clone so a fresh checkout builds into a warm cache.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mailconn/target}"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs Debian/Ubuntu packages that are not installed yet (one apt-get update at most).
apt_ensure() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

APP_PACKAGES=(build-essential pkg-config curl ca-certificates file libwebkit2gtk-4.1-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev libsecret-1-0 gnome-keyring dbus
  dbus-x11 desktop-file-utils xdg-utils)
# Mail servers and programs for the protocol tests: Dovecot (IMAP, POP, submission), an SMTP sink
# for submission's relay (aiosmtpd), msmtp and OfflineIMAP as real mail programs.
TEST_PACKAGES=(rpm xvfb webkit2gtk-driver libsecret-tools imagemagick x11-utils dovecot-core dovecot-imapd
  dovecot-pop3d dovecot-submissiond python3-aiosmtpd msmtp offlineimap3)
# The benchmark (scripts/bench.sh): ApacheBench as the load generator, GNU time for the raw Secret
# Service client's CPU, secret-tool and dbus-monitor (in dbus) to read and count keychain calls, a
# venv for MSAL for Python (from PyPI); the window part also needs Xvfb and WebKitWebDriver.
BENCH_PACKAGES=(apache2-utils time libsecret-tools dbus python3-venv xvfb webkit2gtk-driver x11-utils)
# MSAL for Python, the comparison client, pinned so that runs compare alike.
BENCH_MSAL="msal==1.39.0"

# The venv with MSAL for Python for the benchmark (MAILCONN_BENCH_VENV, exported).
ensure_bench_venv() {
  export MAILCONN_BENCH_VENV="${MAILCONN_BENCH_VENV:-$HOME/.cache/mailconn/bench-venv}"
  if ! "$MAILCONN_BENCH_VENV/bin/python" -c "import msal, sys; sys.exit(msal.__version__ != '${BENCH_MSAL#msal==}')" 2>/dev/null; then
    log "MSAL for Python ($BENCH_MSAL) into $MAILCONN_BENCH_VENV"
    python3 -m venv "$MAILCONN_BENCH_VENV"
    "$MAILCONN_BENCH_VENV/bin/pip" install --quiet --disable-pip-version-check "$BENCH_MSAL"
  fi
}

ensure_toolchain() {
  if ! command -v cargo >/dev/null; then
    log "installing the Rust toolchain (rustup)"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  fi
  if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    log "installing Node.js and npm"
    apt_ensure nodejs npm
  fi
}

# Installs a folder's npm packages exactly as its package-lock.json records them (`npm ci`). The
# lock files list every platform's optional packages (esbuild, rollup), which `npm ci` requires.
npm_ci() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm packages in ${dir#$ROOT/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# `npm audit` for a folder (extra arguments, e.g. --omit=dev, go to it): fails on a known
# vulnerability. When the registry's audit service cannot be reached or refuses the request (a
# registry mirror may answer 405 to the bulk advisory endpoint) the run goes on with a warning,
# because that says nothing about the packages.
npm_audit() {
  local dir="$1" out status=0
  shift
  out="$(cd "$dir" && npm audit "$@" 2>&1)" || status=$?
  if [ "$status" -eq 0 ]; then
    log "npm audit $* ${dir#$ROOT/}: $(printf '%s\n' "$out" | tail -n 1)"
  elif printf '%s' "$out" | grep -qiE 'ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|audit endpoint returned an error|network|405|503|502'; then
    log "npm audit $* ${dir#$ROOT/}: the audit service cannot be reached or refused the request; skipped ($(printf '%s\n' "$out" | grep -iE 'warn audit|error' | head -n 1))"
  else
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# Builds the interface into ui/dist unless its sources are unchanged since the last build. The app
# embeds ui/dist, so rewriting identical files would make Cargo rebuild the app for minutes. The
# stamp pairs the sources with the index.html built from them (it names every hashed asset), so a
# ui/dist built by hand from other sources is rebuilt.
build_ui() {
  local stamp="$CARGO_TARGET_DIR/ui-dist.sha256" sources
  sources="$(cd "$ROOT/ui" && find src index.html package.json package-lock.json vite.config.ts svelte.config.js \
    tsconfig.json $( [ -d public ] && echo public ) -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)"
  if [ -f "$ROOT/ui/dist/index.html" ] && [ -f "$stamp" ] &&
    [ "$(cat "$stamp")" = "$sources $(sha256sum <"$ROOT/ui/dist/index.html")" ]; then
    log "interface unchanged since its last build"
    return 0
  fi
  log "building the interface"
  (cd "$ROOT/ui" && npm run --silent build)
  mkdir -p "$CARGO_TARGET_DIR"
  printf '%s %s' "$sources" "$(sha256sum <"$ROOT/ui/dist/index.html")" >"$stamp"
}
