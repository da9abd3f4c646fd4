//! `ktui clone`: to be written.
