//! Selector checks: to be written.
