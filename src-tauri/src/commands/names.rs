//! The command names of the invoke handler in `commands/mod.rs` (`tauri::generate_handler![..]`),
//! read from its source. `build.rs` declares them to Tauri's app manifest from here, and a test
//! checks the capability file and the interface's wrappers against the same list.

/// `module::command_name,` entries of the `generate_handler!` list, in order, without modules.
pub fn handler_names(source: &str) -> Vec<String> {
    let Some(start) = source.find("generate_handler![") else {
        return Vec::new();
    };
    let list = &source[start + "generate_handler![".len()..];
    let list = &list[..list.find(']').unwrap_or(list.len())];
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| entry.rsplit("::").next().unwrap_or(entry).to_owned())
        .collect()
}
