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
TEST_PACKAGES=(xvfb webkit2gtk-driver libsecret-tools imagemagick x11-utils)

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

# Installs a folder's npm packages at the versions its package-lock.json records. (`npm ci` would
# be the usual choice, but npm 11 rejects lock files that omit other platforms' optional packages.)
npm_ci() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm packages in ${dir#$ROOT/}"
    (cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error)
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
