//! Headless `--record DIR` and the in-cluster forensics controller: the console's `App`
//! driven with no terminal front. DIR is a case directory (the evidence-case layout); the
//! record streams (`crashes.jsonl`, `events.jsonl`, `packets.jsonl`) live at its top level,
//! `summary.json` and `node-<name>.json` are written at the end, then the signed bundle.
//!
//! [`metrics`] is what `--metrics-addr` serves (Prometheus text and `/healthz`); [`manifest`]
//! is `ktui record manifest`, the objects that run ktui as the controller in a cluster.

pub mod cmd;
pub mod manifest;
pub mod metrics;
