//! Finding (or mounting) tracefs: tracepoint ids live under `<tracefs>/events`.

use std::path::{Path, PathBuf};

pub const PRIMARY: &str = "/sys/kernel/tracing";
pub const DEBUGFS: &str = "/sys/kernel/debug/tracing";

fn has_events(root: &Path) -> bool {
    root.join("events").is_dir()
}

/// The tracefs root: `/sys/kernel/tracing`, else `/sys/kernel/debug/tracing`, else mount
/// tracefs on `/sys/kernel/tracing` (needs CAP_SYS_ADMIN). The error says what to do.
pub fn find_or_mount() -> Result<PathBuf, String> {
    for root in [PRIMARY, DEBUGFS] {
        if has_events(Path::new(root)) {
            return Ok(PathBuf::from(root));
        }
    }
    let target = Path::new(PRIMARY);
    if !target.is_dir() {
        return Err(format!(
            "tracefs is not mounted and {PRIMARY} does not exist: mount tracefs \
             (mount -t tracefs tracefs {PRIMARY}) or mount the host's /sys/kernel into the pod"
        ));
    }
    let src = c"tracefs";
    let fstype = c"tracefs";
    let dst = c"/sys/kernel/tracing";
    // SAFETY: plain mount(2) with NUL-terminated strings and no data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            dst.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(format!(
            "tracefs is not mounted at {PRIMARY} or {DEBUGFS}, and mounting it failed ({err}); \
             mount it on the node (mount -t tracefs tracefs {PRIMARY}) or give the helper \
             CAP_SYS_ADMIN"
        ));
    }
    if has_events(target) {
        Ok(target.to_path_buf())
    } else {
        Err(format!(
            "mounted tracefs on {PRIMARY} but it has no events directory"
        ))
    }
}
