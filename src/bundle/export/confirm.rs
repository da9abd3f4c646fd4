//! The confirmation `--include-secrets` needs: a `yes` typed on the terminal, or, for
//! scripts, `KTUI_CONFIRM_SECRETS=yes`. With neither (stdin not a terminal), refused.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// The environment variable that confirms `--include-secrets` without a terminal.
pub const CONFIRM_ENV: &str = "KTUI_CONFIRM_SECRETS";

/// How the inclusion of Secret values was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    Typed,
    Environment,
}

/// Ask (or read [`CONFIRM_ENV`]); Err says why the values will not be written.
pub fn include_secrets(pod: &str) -> Result<Confirmed, String> {
    if std::env::var(CONFIRM_ENV).is_ok_and(|v| v == "yes") {
        return Ok(Confirmed::Environment);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(format!(
            "--include-secrets writes Secret values in clear into the case and the bundle, and \
             needs a `yes` typed on a terminal (stdin is not one); for scripts, set {CONFIRM_ENV}=yes"
        ));
    }
    eprint!(
        "ktui export: --include-secrets writes the VALUES of the Secrets pod {pod} reads, in \
         clear, into the case and the bundle: anyone holding either can read them.\n\
         Type yes to include them: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the confirmation: {e}"))?;
    if answer.trim() == "yes" {
        Ok(Confirmed::Typed)
    } else {
        Err("not confirmed (the answer was not `yes`): nothing was collected".to_string())
    }
}
