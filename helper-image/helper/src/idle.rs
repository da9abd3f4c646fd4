//! `ktui-helper idle`: the helper pod's main process. Sleeps until SIGTERM/SIGINT, so the
//! pod stays up between exec sessions and a closed exec stream never crash-loops it.

use std::process::ExitCode;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub fn run() -> ExitCode {
    match Signals::new([SIGTERM, SIGINT]) {
        Ok(mut signals) => {
            let _ = signals.forever().next();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ktui-helper idle: cannot install signal handlers: {e}");
            ExitCode::from(1)
        }
    }
}
