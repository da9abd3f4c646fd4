//! Cached owner lookups (ReplicaSet → Deployment, Job → CronJob, ...), so each owner object is
//! fetched at most once per session. A lookup that fails (not found, forbidden) is remembered as
//! unknown, and the naming conventions apply.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client};

use crate::cluster::OwnerRef;
use crate::cluster::kube::convert::controller_owner;
use crate::triage::owners::OwnerIndex;

type Key = (String, String, String);

pub struct OwnerCache {
    client: Client,
    /// Some(owner) = fetched; None = lookup failed, use conventions.
    known: Mutex<HashMap<Key, Option<Option<OwnerRef>>>>,
}

impl OwnerCache {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, key: &Key) -> Option<Option<Option<OwnerRef>>> {
        self.known.lock().ok().and_then(|m| m.get(key).cloned())
    }

    fn remember(&self, key: Key, value: Option<Option<OwnerRef>>) {
        if let Ok(mut m) = self.known.lock() {
            m.insert(key, value);
        }
    }

    /// Owner of one object, fetched once. None when unknown.
    async fn owner_of(&self, namespace: &str, owner: &OwnerRef) -> Option<Option<OwnerRef>> {
        let key = (
            namespace.to_string(),
            owner.kind.clone(),
            owner.name.clone(),
        );
        if let Some(hit) = self.cached(&key) {
            return hit;
        }
        let fetched = match owner.kind.as_str() {
            "ReplicaSet" => Api::<ReplicaSet>::namespaced(self.client.clone(), namespace)
                .get(&owner.name)
                .await
                .map(|o| controller_owner(&o.metadata)),
            "Job" => Api::<Job>::namespaced(self.client.clone(), namespace)
                .get(&owner.name)
                .await
                .map(|o| controller_owner(&o.metadata)),
            // StatefulSet, DaemonSet, CronJob, custom controllers: top level as far as ktui goes.
            _ => Ok(None),
        };
        let value = match fetched {
            Ok(parent) => Some(parent),
            Err(e) => {
                tracing::debug!(?owner, namespace, "owner lookup failed: {e}");
                None
            }
        };
        self.remember(key, value.clone());
        value
    }

    /// An index with the pod's owner chain, fetched (or cached) link by link.
    pub async fn index_for(&self, pod: &Pod) -> OwnerIndex {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let mut index = OwnerIndex::default();
        let mut next = controller_owner(&pod.metadata);
        let mut depth = 0;
        while let Some(owner) = next.take() {
            depth += 1;
            if depth > 4 {
                break;
            }
            if let Some(parent) = self.owner_of(&namespace, &owner).await {
                index.insert(&namespace, &owner.kind, &owner.name, parent.clone());
                next = parent;
            }
        }
        index
    }
}
