//! Owner → workload resolution (pure).
//!
//! Exact when the owning objects are known (from the input files or the cluster); otherwise the
//! naming conventions of the controllers: ReplicaSet `<x>-<hash>` belongs to Deployment `<x>`,
//! Job `<x>-<digits>` to CronJob `<x>`.

use std::collections::HashMap;

use crate::cluster::{OwnerRef, Workload};

/// Known objects and their controller owners: (namespace, kind, name) → owner (None = no owner).
#[derive(Debug, Default, Clone)]
pub struct OwnerIndex {
    known: HashMap<(String, String, String), Option<OwnerRef>>,
}

impl OwnerIndex {
    pub fn insert(&mut self, namespace: &str, kind: &str, name: &str, owner: Option<OwnerRef>) {
        self.known.insert(
            (namespace.to_string(), kind.to_string(), name.to_string()),
            owner,
        );
    }

    /// `Some(owner)` when the object is known (`owner` may be None), `None` when unknown.
    pub fn lookup(&self, namespace: &str, kind: &str, name: &str) -> Option<Option<&OwnerRef>> {
        self.known
            .get(&(namespace.to_string(), kind.to_string(), name.to_string()))
            .map(Option::as_ref)
    }

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// The chain of owners from the pod's controller outwards, using known objects where possible
/// and naming conventions otherwise.
pub fn owner_chain(namespace: &str, owner: Option<&OwnerRef>, index: &OwnerIndex) -> Vec<OwnerRef> {
    let mut chain = Vec::new();
    let mut next = owner.cloned();
    while let Some(current) = next.take() {
        if chain.len() >= 8 || chain.contains(&current) {
            break;
        }
        next = match index.lookup(namespace, &current.kind, &current.name) {
            Some(parent) => parent.cloned(),
            None => conventional_parent(&current),
        };
        chain.push(current);
    }
    chain
}

/// The top-level workload of a pod: the outermost owner, or the pod itself.
pub fn resolve_workload(
    namespace: &str,
    pod_name: &str,
    owner: Option<&OwnerRef>,
    index: &OwnerIndex,
) -> Workload {
    match owner_chain(namespace, owner, index).pop() {
        Some(top) => Workload {
            kind: top.kind,
            name: top.name,
        },
        None => Workload {
            kind: "Pod".to_string(),
            name: pod_name.to_string(),
        },
    }
}

/// The parent an unknown ReplicaSet or Job has by convention.
pub fn conventional_parent(owner: &OwnerRef) -> Option<OwnerRef> {
    let (prefix, suffix) = owner.name.rsplit_once('-')?;
    if prefix.is_empty() || suffix.is_empty() {
        return None;
    }
    match owner.kind.as_str() {
        "ReplicaSet" if suffix.bytes().all(|b| b.is_ascii_alphanumeric()) => Some(OwnerRef {
            kind: "Deployment".to_string(),
            name: prefix.to_string(),
        }),
        "Job" if suffix.bytes().all(|b| b.is_ascii_digit()) => Some(OwnerRef {
            kind: "CronJob".to_string(),
            name: prefix.to_string(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(kind: &str, name: &str) -> OwnerRef {
        OwnerRef {
            kind: kind.into(),
            name: name.into(),
        }
    }

    fn wl(kind: &str, name: &str) -> Workload {
        Workload {
            kind: kind.into(),
            name: name.into(),
        }
    }

    #[test]
    fn conventions_apply_to_unknown_owners() {
        let idx = OwnerIndex::default();
        let rs = owner("ReplicaSet", "api-6b7c8d9e4f");
        assert_eq!(
            resolve_workload("d", "p", Some(&rs), &idx),
            wl("Deployment", "api")
        );
        let job = owner("Job", "backup-29005555");
        assert_eq!(
            resolve_workload("d", "p", Some(&job), &idx),
            wl("CronJob", "backup")
        );
        let manual = owner("Job", "migrate-now");
        assert_eq!(
            resolve_workload("d", "p", Some(&manual), &idx),
            wl("Job", "migrate-now")
        );
        let sts = owner("StatefulSet", "db");
        assert_eq!(
            resolve_workload("d", "db-0", Some(&sts), &idx),
            wl("StatefulSet", "db")
        );
        assert_eq!(resolve_workload("d", "bare", None, &idx), wl("Pod", "bare"));
    }

    #[test]
    fn known_objects_win_over_conventions() {
        let mut idx = OwnerIndex::default();
        // A ReplicaSet created by hand: no owner, so it is the workload itself.
        idx.insert("d", "ReplicaSet", "cache-abc12", None);
        let rs = owner("ReplicaSet", "cache-abc12");
        assert_eq!(
            resolve_workload("d", "p", Some(&rs), &idx),
            wl("ReplicaSet", "cache-abc12")
        );
        // A Job created by a CronJob whose name does not follow the convention.
        idx.insert(
            "d",
            "Job",
            "nightly-manual",
            Some(owner("CronJob", "nightly")),
        );
        let job = owner("Job", "nightly-manual");
        assert_eq!(
            resolve_workload("d", "p", Some(&job), &idx),
            wl("CronJob", "nightly")
        );
        // Other namespaces do not leak.
        assert_eq!(
            resolve_workload("e", "p", Some(&rs), &idx),
            wl("Deployment", "cache")
        );
    }

    #[test]
    fn owner_cycles_terminate() {
        let mut idx = OwnerIndex::default();
        idx.insert("d", "A", "a", Some(owner("B", "b")));
        idx.insert("d", "B", "b", Some(owner("A", "a")));
        let chain = owner_chain("d", Some(&owner("A", "a")), &idx);
        assert_eq!(chain.len(), 2);
    }
}
