//! ktui: a terminal console for live Kubernetes incident investigation.
//!
//! The library holds everything so tests drive the app without a terminal: `cluster` (the
//! seam to Kubernetes), `triage` (pure crash classification), and the console's state, update,
//! view and runtime.

pub mod cli;
pub mod cluster;
pub mod sanitize;
pub mod tls;
pub mod triage;
pub mod triage_cmd;
