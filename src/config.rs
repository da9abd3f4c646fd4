//! Configuration: themes and keys (embedded defaults, user overrides).

pub mod keys;
pub mod theme;
