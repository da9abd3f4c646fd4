//! The pure clone spec builder (see `crate::clone`): to be written.

use super::{CloneOptions, ClonePlan, CloneSource, SnapshotChoice, Stamp};

/// Why no plan could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the source object is not a pod: {0}")]
    NotAPod(String),
}

/// Build every object the clone creates.
pub fn build(
    _source: &CloneSource,
    _options: &CloneOptions,
    _stamp: &Stamp,
    _snapshots: Option<&SnapshotChoice>,
) -> Result<ClonePlan, SpecError> {
    todo!("clone spec builder")
}

/// `<pod>-forensic-<first 8 hex of the signature>`, at most 63 characters (SPEC writes it).
pub fn clone_name(_pod: &str, _signature: &str) -> String {
    todo!("clone spec builder")
}
