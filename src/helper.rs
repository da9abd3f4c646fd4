//! The node helper from the console's side: the manifest that deploys it, the `ktui helper`
//! subcommand, and the protocol client that talks to `ktui-helper serve` over any byte stream
//! (pod exec, a local child process, or an in-memory pipe in tests).

pub mod client;
pub mod cmd;
pub mod local;
pub mod manifest;
pub mod replay;
