//! One packet parser for the console (`ktui pcap summary`, the packets pane) and the helper
//! (live summaries): a frame of a given link type in, a [`Summary`] out, no copies.
//!
//! [`filter`] is the capture filter language (host / net / port / proto with and/or/not),
//! compiled to classic BPF for the helper's socket and checked by the console before sending.

pub mod filter;
mod summary;

pub use summary::{
    Addr, LinkType, Proto, ProtoName, Summary, dns, push_flags, summarize, transport, ts_text,
};
