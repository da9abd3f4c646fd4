//! Ring-buffer records: their layout, decoding, aggregation of drops, and conversion to the
//! pinned `SocketEvent` line.

pub mod aggregate;
pub mod convert;
pub mod decode;
pub mod layout;
