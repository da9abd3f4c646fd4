//! Probe selection (pure), kernel feature detection, loading and attaching.

pub mod facts;
pub mod load;
pub mod select;
