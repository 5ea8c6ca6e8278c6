#!/usr/bin/env bash
# Builds Mail Connections' Linux packages, a .deb and an .rpm, into dist/ from a clean checkout:
# the desktop app, the `mailconn` CLI in /usr/bin, a desktop entry that registers the mailconn://
# scheme, icons at every size, shell completions (bash, zsh, fish) and the manual pages.
#
#   ./scripts/package.sh            release build (what people install)
#   ./scripts/package.sh --debug    debug build, reusing the test command's build (the install test)
#
# See docs/PACKAGING.md (what is in the packages; macOS, Windows and AppImage builds).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

profile=release
cargo_profile=(--release)
tauri_profile=()
case "${1:-}" in
  "") ;;
  --debug) profile=debug; cargo_profile=(); tauri_profile=(--debug) ;;
  *) echo "usage: $0 [--debug]" >&2; exit 2 ;;
esac

"$ROOT/scripts/setup.sh" app
build_ui

log "building the CLI ($profile)"
cargo build --locked "${cargo_profile[@]}" -p mailconn-cli --bin mailconn
cli="$CARGO_TARGET_DIR/$profile/mailconn"

# Completions and manual pages are generated from the CLI's own definition (clap).
stage="$CARGO_TARGET_DIR/package-stage"
rm -rf "$stage"
mkdir -p "$stage/completions" "$stage/man"
"$cli" completions bash >"$stage/completions/mailconn"
"$cli" completions zsh >"$stage/completions/_mailconn"
"$cli" completions fish >"$stage/completions/mailconn.fish"
"$cli" man --dir "$stage/man"
gzip -9n "$stage"/man/*.1

# The package's extra files and dependencies, as a Tauri configuration merged over
# tauri.conf.json (which keeps bundling off, so plain `cargo build`s do not bundle).
python3 - "$stage" "$cli" "$ROOT" >"$stage/linux.json" <<'PY'
import json, pathlib, sys

stage, cli, root = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
files = {
    "/usr/bin/mailconn": cli,
    "/usr/share/bash-completion/completions/mailconn": str(stage / "completions/mailconn"),
    "/usr/share/zsh/vendor-completions/_mailconn": str(stage / "completions/_mailconn"),
    "/usr/share/fish/vendor_completions.d/mailconn.fish": str(stage / "completions/mailconn.fish"),
}
for page in sorted((stage / "man").glob("*.1.gz")):
    files[f"/usr/share/man/man1/{page.name}"] = str(page)
# A Secret Service provider: GNOME Keyring, KWallet (5.97+ speaks the Secret Service) or
# KeePassXC; the app says so in its health checks when none answers. The desktop entry passes the
# mailconn:// link to the app (%u) and registers the scheme.
secret_service = "gnome-keyring | kwalletmanager | keepassxc"
config = {
    "bundle": {
        "active": True,
        "targets": ["deb", "rpm"],
        "linux": {
            "deb": {
                # The bundler adds WebKitGTK 4.1, GTK 3 and libayatana-appindicator itself.
                "depends": ["libsecret-1-0", secret_service, "xdg-utils"],
                "section": "mail",
                "desktopTemplate": str(root / "packaging/linux/mailconn.desktop"),
                "files": files,
            },
            "rpm": {
                "depends": ["libsecret", "(gnome-keyring or kf5-kwallet or keepassxc)", "xdg-utils"],
                "desktopTemplate": str(root / "packaging/linux/mailconn.desktop"),
                "files": files,
            },
        },
    }
}
json.dump(config, sys.stdout, indent=2)
PY

log "building the app and its packages ($profile)"
# From src-tauri: the CLI takes the app's crate from the Cargo.toml next to the configuration.
(cd "$ROOT/src-tauri" && "$ROOT/ui/node_modules/.bin/tauri" build --ci "${tauri_profile[@]}" \
  --bundles deb,rpm --config "$stage/linux.json")

mkdir -p "$ROOT/dist"
rm -f "$ROOT"/dist/*.deb "$ROOT"/dist/*.rpm
cp "$CARGO_TARGET_DIR/$profile/bundle/deb/"*.deb "$CARGO_TARGET_DIR/$profile/bundle/rpm/"*.rpm "$ROOT/dist/"
log "packages in dist/:"
ls -l "$ROOT/dist" >&2
