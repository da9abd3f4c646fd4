//! `ktui-helper`: placeholder until the helper issue lands. It only reports its version and
//! protocol version, and says plainly that it does nothing else yet.

use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    match arg.as_str() {
        "--version" | "-V" => {
            println!(
                "ktui-helper {} (wire protocol v{})",
                env!("CARGO_PKG_VERSION"),
                ktui_wire::PROTOCOL_VERSION
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("ktui-helper: no commands are implemented in this build (only --version)");
            ExitCode::from(2)
        }
    }
}
