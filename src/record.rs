//! Headless `--record DIR` and the in-cluster forensics controller: the console's `App`
//! driven with no terminal front. DIR is a case directory (the evidence-case layout); the
//! record streams (`crashes.jsonl`, `events.jsonl`, `packets.jsonl`) live at its top level,
//! `summary.json` and `node-<name>.json` are written at the end, then the signed bundle.
