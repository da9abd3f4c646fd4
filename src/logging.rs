//! tracing to a file while the console owns the terminal. `KTUI_LOG` sets the filter
//! (default `warn`); the file is `$XDG_STATE_HOME/ktui/ktui.log` (or `~/.local/state/ktui/`).

use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

pub fn log_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("ktui").join("ktui.log"))
}

/// Start logging to the file; failures to open it are not fatal (ktui runs without a log).
pub fn init() -> Option<PathBuf> {
    let path = log_path()?;
    std::fs::create_dir_all(path.parent()?).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let filter = EnvFilter::try_from_env("KTUI_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .ok()?;
    Some(path)
}
