//! The node helper from the console's side: the manifest that deploys it, its life cycle
//! (preflight, deploy, open, remove: one module for the console and the CLI), the `ktui helper`
//! subcommand, the `ktui-helper snapshot` command line, and the protocol client that talks to `ktui-helper serve` over any byte stream
//! (pod exec, a local child process, or an in-memory pipe in tests).

pub mod client;
pub mod cmd;
pub mod lifecycle;
pub mod local;
pub mod manifest;
pub mod replay;
pub mod snapshot;
