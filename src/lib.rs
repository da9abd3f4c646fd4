//! ktui: a terminal console for live Kubernetes incident investigation.
//!
//! The library holds everything so tests drive the app without a terminal: `cluster` (the seam
//! to Kubernetes), `triage` (pure crash classification), and the console's state, update, view
//! and runtime (DESIGN.md's data flow).

pub mod action;
pub mod app;
pub mod bundle;
pub mod case;
pub mod checkpoint;
pub mod cleanup;
pub mod cli;
pub mod clone;
pub mod cluster;
pub mod collect;
pub mod config;
pub mod effect;
pub mod evidence;
pub mod fetch;
pub mod helper;
pub mod intent;
pub mod keymap;
pub mod logging;
pub mod pcap;
pub mod progress;
pub mod record;
pub mod runtime;
pub mod sanitize;
pub mod sign;
pub mod state;
pub mod terminal;
pub mod tls;
pub mod triage;
pub mod triage_cmd;
pub mod update;
pub mod view;
