//! `zvtran keygen`: a new CURVE key pair, printed in Z85 as `public:` and `secret:` lines.

use std::io::Write;

use clap::Parser;
use zvtran::{KeyPair, SecretKey};

use crate::exit;

/// Prints a new CURVE long-term key pair (like libzmq's curve_keygen): `public: Z85` and
/// `secret: Z85`. Give the public key to peers (CURVE_SERVERKEY, or a ZAP handler's list);
/// keep the secret one (CURVE_SECRETKEY) to yourself.
#[derive(Debug, Parser)]
pub struct Args {
    /// Print the key pair of this secret key (40 Z85 characters) instead of a new one.
    #[arg(long, value_name = "Z85")]
    secret: Option<String>,
}

/// Runs `zvtran keygen`.
pub fn run(args: Args) -> Result<(), (u8, String)> {
    let keys = match args.secret {
        Some(text) => {
            let secret = SecretKey::parse(text.trim().as_bytes())
                .map_err(|e| (exit::USAGE, format!("--secret: {e}")))?;
            KeyPair::from_secret(secret)
        }
        None => KeyPair::generate(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "public: {}", keys.public)
        .and_then(|()| writeln!(out, "secret: {}", keys.secret.to_z85()))
        .map_err(|e| (exit::FAILURE, format!("cannot write the keys: {e}")))
}
