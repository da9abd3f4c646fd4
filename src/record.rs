//! Headless `--record DIR` and the in-cluster forensics controller: the console's `App`
//! driven with no terminal front. DIR is a case directory (the evidence-case layout); the
//! record streams (`crashes.jsonl`, `events.jsonl`, `packets.jsonl`) live at its top level,
//! `summary.json` and `node-<name>.json` are written at the end, then the signed bundle.
//!
//! The controller's cluster side: [`lease`] (only one replica acts), [`triggers`] (the
//! `ktui.dev/` annotations asking for an action, and the bounded queue that runs them) and
//! [`complete`] (removing a trigger when its action is done, and reporting the result as an
//! Event on the pod and a custody line).

pub mod complete;
pub mod lease;
pub mod triggers;
