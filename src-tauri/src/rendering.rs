//! How the web view paints on Linux, chosen before GTK and WebKit start.
//!
//! WebKitGTK (2.46 and later) rasterises web content with Skia on the GPU, through OpenGL, and
//! composites the page's layers with OpenGL too. A machine without a GPU device (a virtual
//! machine, a remote desktop, a server under Xvfb) still gets OpenGL: Mesa's software renderer
//! (llvmpipe), which emulates the GPU on the CPU. Both through that emulation cost far more memory
//! and CPU than painting the page with Skia's own CPU rasteriser straight into the buffers the
//! window shows: the compositor's layers and their textures live in the web process, and
//! llvmpipe's threads keep compositing for seconds after the first screen. So without a GPU device
//! the app asks for CPU rendering (`WEBKIT_SKIA_ENABLE_CPU_RENDERING`, WPE WebKit's default on
//! small devices) without accelerated compositing (`WEBKIT_DISABLE_COMPOSITING_MODE`, kept in
//! WebKit for exactly this, less memory where compositing buys nothing); with a GPU device
//! WebKit's defaults stay. Whoever starts the app with any of WebKit's painting variables set has
//! chosen: the app then sets none. docs/PERFORMANCE.md has the measurements.

use std::path::Path;

/// WebKit's switch to Skia's CPU rasteriser (read by its web process, which inherits this
/// process's environment).
pub const CPU_RENDERING_ENV: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";
/// WebKit's switch that paints the page without accelerated (OpenGL) compositing.
pub const NO_COMPOSITING_ENV: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
/// WebKit's variables that choose how it paints: any of them set is someone's choice.
pub const PAINTING_VARS: [&str; 3] = [
    CPU_RENDERING_ENV,
    NO_COMPOSITING_ENV,
    "WEBKIT_FORCE_COMPOSITING_MODE",
];
/// What the app sets without a GPU device.
pub const WITHOUT_GPU: [(&str, &str); 2] = [(CPU_RENDERING_ENV, "1"), (NO_COMPOSITING_ENV, "1")];

/// Why the web view paints the way it does, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// One of WebKit's painting variables was set by whoever started the app: left as it is.
    AsSet,
    /// A GPU device is present: WebKit's default (GPU rendering, accelerated compositing).
    Gpu,
    /// No GPU device: CPU rendering without accelerated compositing asked for.
    CpuWithoutGpu,
}

/// The choice for an environment where `set` says whether any of [`PAINTING_VARS`] is set and
/// `has_gpu` whether a GPU device exists.
#[must_use]
pub fn choose(set: bool, has_gpu: bool) -> Choice {
    match (set, has_gpu) {
        (true, _) => Choice::AsSet,
        (false, true) => Choice::Gpu,
        (false, false) => Choice::CpuWithoutGpu,
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
    let set = PAINTING_VARS.iter().any(|v| std::env::var_os(v).is_some());
    let choice = choose(set, has_gpu_device(Path::new("/dev")));
    if choice == Choice::CpuWithoutGpu {
        for (name, value) in WITHOUT_GPU {
            // SAFETY: called at the start of `main`, before any thread exists (nothing else reads
            // or writes the environment concurrently); see `std::env::set_var`.
            unsafe { std::env::set_var(name, value) };
        }
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_rendering_only_without_a_gpu_and_never_over_what_was_set() {
        assert_eq!(choose(false, false), Choice::CpuWithoutGpu);
        assert_eq!(choose(false, true), Choice::Gpu);
        assert_eq!(choose(true, false), Choice::AsSet);
        assert_eq!(choose(true, true), Choice::AsSet);
        assert!(
            WITHOUT_GPU
                .iter()
                .all(|(name, _)| PAINTING_VARS.contains(name))
        );
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
