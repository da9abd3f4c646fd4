//! `ktui helper manifest|list|remove`.

use crate::cli::{ConnArgs, HelperArgs};

/// Run the subcommand; returns the process exit code.
pub async fn run(_conn: &ConnArgs, _args: &HelperArgs) -> u8 {
    eprintln!("ktui helper: not implemented yet");
    1
}
