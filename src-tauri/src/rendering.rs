//! How the web view paints on Linux, chosen before GTK and WebKit start.
//!
//! WebKitGTK (2.46 and later) rasterises web content with Skia on the GPU, through OpenGL. A
//! machine without a GPU device (a virtual machine, a remote desktop, a server under Xvfb) still
//! gets OpenGL: Mesa's software renderer (llvmpipe), which emulates the GPU on the CPU. Painting
//! through that emulation costs more memory and CPU than Skia's own CPU rasteriser, which WebKit
//! uses when `WEBKIT_SKIA_ENABLE_CPU_RENDERING` is set (WPE WebKit's default on small devices).
//! So without a GPU device the app asks for CPU rendering; with one, WebKit's default stays. An
//! explicit `WEBKIT_SKIA_ENABLE_CPU_RENDERING` (`0` for the GPU path, anything else for the CPU)
//! is always left as it is. docs/PERFORMANCE.md has the measurements.

use std::path::Path;

/// WebKit's switch (read by its web process, which inherits this process's environment).
pub const CPU_RENDERING_ENV: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";

/// Why the web view paints the way it does, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// `WEBKIT_SKIA_ENABLE_CPU_RENDERING` was set by whoever started the app.
    AsSet,
    /// A GPU device is present: WebKit's default (GPU rendering).
    Gpu,
    /// No GPU device: CPU rendering asked for.
    CpuWithoutGpu,
}

/// The choice for an environment where the variable is `set` (or not) and `has_gpu` says whether
/// a GPU device exists.
#[must_use]
pub fn choose(set: Option<&str>, has_gpu: bool) -> Choice {
    match (set, has_gpu) {
        (Some(_), _) => Choice::AsSet,
        (None, true) => Choice::Gpu,
        (None, false) => Choice::CpuWithoutGpu,
    }
}

/// Whether `dev` holds a device a hardware OpenGL driver renders with: a DRM render node
/// (`dri/renderD*`, every Mesa GPU driver and NVIDIA's with its DRM module) or NVIDIA's own
/// device (`nvidia0`, its driver without the DRM module).
#[must_use]
pub fn has_gpu_device(dev: &Path) -> bool {
    let render_node = std::fs::read_dir(dev.join("dri")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    render_node || dev.join("nvidia0").exists()
}

/// Makes the choice for this machine and applies it. Call first thing in `main`, while this
/// process has one thread: setting an environment variable is only sound then.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn apply() -> Choice {
    let set = std::env::var(CPU_RENDERING_ENV).ok();
    let choice = choose(set.as_deref(), has_gpu_device(Path::new("/dev")));
    if choice == Choice::CpuWithoutGpu {
        // SAFETY: called at the start of `main`, before any thread exists (nothing else reads or
        // writes the environment concurrently); see `std::env::set_var`.
        unsafe { std::env::set_var(CPU_RENDERING_ENV, "1") };
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_rendering_only_without_a_gpu_and_never_over_what_was_set() {
        assert_eq!(choose(None, false), Choice::CpuWithoutGpu);
        assert_eq!(choose(None, true), Choice::Gpu);
        assert_eq!(choose(Some("0"), false), Choice::AsSet);
        assert_eq!(choose(Some("1"), true), Choice::AsSet);
    }

    #[test]
    fn a_render_node_or_an_nvidia_device_is_a_gpu() {
        let dev = tempfile::tempdir().unwrap();
        assert!(!has_gpu_device(dev.path()), "an empty /dev");
        std::fs::create_dir(dev.path().join("dri")).unwrap();
        std::fs::write(dev.path().join("dri/card0"), "").unwrap();
        assert!(
            !has_gpu_device(dev.path()),
            "a display controller without a render node (a virtual GPU that only scans out)"
        );
        std::fs::write(dev.path().join("dri/renderD128"), "").unwrap();
        assert!(has_gpu_device(dev.path()));
        let nvidia = tempfile::tempdir().unwrap();
        std::fs::write(nvidia.path().join("nvidia0"), "").unwrap();
        assert!(has_gpu_device(nvidia.path()));
    }
}
