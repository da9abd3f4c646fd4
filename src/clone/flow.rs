//! The create / remove flow: to be written.
