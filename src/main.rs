use std::process::ExitCode;

use clap::Parser as _;
use ktui::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    ktui::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ktui: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        match &cli.command {
            Some(Command::Triage(args)) => ktui::triage_cmd::run(&cli.conn, args).await,
            None => 0,
        }
    });
    ExitCode::from(code)
}
