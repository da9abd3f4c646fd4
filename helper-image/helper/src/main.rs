//! `ktui-helper`: the node-side helper of ktui (see the crate docs in lib.rs).

use std::process::ExitCode;

use clap::Parser as _;
use ktui_helper::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Trace(args) => ktui_helper::trace::run(&args),
        Command::Serve(args) => ktui_helper::serve::run(&args),
        Command::Idle => ktui_helper::idle::run(),
        Command::Snapshot(args) => ktui_helper::snapshot::run(&args),
        Command::Fetch(args) => ktui_helper::fetch::run(&args),
        Command::Rm(args) => ktui_helper::fetch::rm::run(&args.path),
        Command::Capture(args) => ktui_helper::capture::cli::run(&args),
    }
}
