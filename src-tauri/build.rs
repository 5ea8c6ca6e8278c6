//! Reads `tauri.conf.json` (a link to the one at the workspace root, whose paths are relative to
//! this crate) and declares the app's commands, so the capability file can grant exactly these.

#[path = "src/commands/names.rs"]
mod commands;

fn main() {
    ensure_frontend();
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(mailconn_desktop_commands()));
    tauri_build::try_build(attributes).expect("tauri build step failed");
}

/// Every command the UI may call, read from the one list in `src/commands/mod.rs` (the invoke
/// handler), so the app manifest cannot drift from it. A test holds the capability file and the
/// interface's `commands.ts` to the same list.
fn mailconn_desktop_commands() -> &'static [&'static str] {
    println!("cargo:rerun-if-changed=src/commands/mod.rs");
    let source = std::fs::read_to_string("src/commands/mod.rs").expect("read src/commands/mod.rs");
    let names: Vec<&'static str> = commands::handler_names(&source)
        .into_iter()
        .map(|n| &*Box::leak(n.into_boxed_str()))
        .collect();
    assert!(
        !names.is_empty(),
        "no commands found in src/commands/mod.rs"
    );
    Box::leak(names.into_boxed_slice())
}

/// `tauri::generate_context!` needs the built interface. A bare `cargo build` before
/// `npm run build` gets a page saying so instead of a compile error.
fn ensure_frontend() {
    let dist = std::path::Path::new("../ui/dist");
    println!("cargo:rerun-if-changed=../ui/dist");
    if !dist.join("index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: run `npm run build` in ui/ (scripts/run-app.sh does)"
        );
        std::fs::create_dir_all(dist).expect("create ui/dist");
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Mail Connections</title><p>The interface was not built. Run <code>scripts/run-app.sh</code>.</p>",
        )
        .expect("write placeholder page");
    }
}
