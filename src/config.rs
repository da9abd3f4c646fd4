//! Configuration: themes (embedded TOML, user overrides).

pub mod theme;
