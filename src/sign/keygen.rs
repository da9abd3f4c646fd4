//! `ktui keygen [--dir DIR]`.

use crate::cli::KeygenArgs;

use super::{KdfLimits, KeyEnv, PASSWORD_ENV, create_key_pair, unencrypted_key_warning};

/// Write `ktui.key` and `ktui.pub`; the exit code (0 written, 1 refused or failed).
pub fn keygen_cmd(args: &KeygenArgs) -> u8 {
    let env = KeyEnv::from_env();
    let dir = match args.dir.clone().map_or_else(|| env.key_dir(), Ok) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("ktui keygen: {e}");
            return 1;
        }
    };
    if env.password.is_some() {
        eprintln!(
            "ktui keygen: encrypting the secret key with {PASSWORD_ENV} (scrypt, as minisign: \
             1 GiB of memory, a few seconds)"
        );
    }
    match create_key_pair(&dir, env.password.as_deref(), KdfLimits::MINISIGN) {
        Ok((_, files)) => {
            if !files.encrypted {
                eprintln!("ktui keygen: {}", unencrypted_key_warning(&files.key));
            }
            println!("secret key: {} (keep it private)", files.key.display());
            println!("public key: {}", files.public_key.display());
            println!("key id: {}", files.key_id);
            println!(
                "check a bundle with: ktui verify NAME.tar.gz --pubkey {0}  or  \
                 minisign -Vm NAME.tar.gz -p {0}",
                files.public_key.display()
            );
            0
        }
        Err(e) => {
            eprintln!("ktui keygen: {e}");
            1
        }
    }
}
