//! Selector checks: to be written (SPEC); the signatures the flow calls, from the plan.

use std::collections::BTreeMap;

use serde_json::Value;

/// The CNI seen in kube-system and whether it enforces NetworkPolicies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cni {
    pub name: String,
    pub enforces: bool,
}

pub fn still_selecting(_labels: &BTreeMap<String, String>, _objects: &[Value]) -> Vec<String> {
    todo!("selector checks")
}

pub fn allow_policies(
    _labels: &BTreeMap<String, String>,
    _own: &str,
    _policies: &[Value],
) -> Vec<String> {
    todo!("selector checks")
}

pub fn detect_cni(_daemonsets: &[Value]) -> Option<Cni> {
    todo!("selector checks")
}
