//! A bare Tauri 2 window: the benchmark's yardstick for launch time and memory.

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the bare window failed");
}
