//! SEAM STUB (clone-ui only, replaced by merging `clone-spec`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cni {
    pub name: String,
    pub enforces: bool,
}
