//! The helper pod manifest (`ktui helper manifest`, and what the console applies).
