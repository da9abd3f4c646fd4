//! Cached owner lookups (ReplicaSet → Deployment, Job → CronJob, ...), so each owner object is
//! fetched at most once per session, even when many pods of one ReplicaSet arrive at once
//! (lookups of the same key share one request). A lookup that fails (not found, forbidden) is
//! remembered as unknown, and the naming conventions apply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::{Api, Client};
use tokio::sync::OnceCell;

use crate::cluster::OwnerRef;
use crate::cluster::kube::convert::controller_owner;
use crate::triage::owners::OwnerIndex;

type Key = (String, String, String);
/// Some(owner) = fetched (the owner may be None); None = lookup failed, use conventions.
type Lookup = Option<Option<OwnerRef>>;

pub struct OwnerCache {
    client: Client,
    known: Mutex<HashMap<Key, Arc<OnceCell<Lookup>>>>,
}

impl OwnerCache {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn cell(&self, key: Key) -> Arc<OnceCell<Lookup>> {
        match self.known.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            // A poisoned map only means another lookup panicked: look up without caching.
            Err(_) => Arc::new(OnceCell::new()),
        }
    }

    async fn fetch(&self, namespace: &str, owner: &OwnerRef) -> Lookup {
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
        match fetched {
            Ok(parent) => Some(parent),
            Err(e) => {
                tracing::debug!(?owner, namespace, "owner lookup failed: {e}");
                None
            }
        }
    }

    /// Owner of one object, fetched once.
    async fn owner_of(&self, namespace: &str, owner: &OwnerRef) -> Lookup {
        let key = (
            namespace.to_string(),
            owner.kind.clone(),
            owner.name.clone(),
        );
        self.cell(key)
            .get_or_init(|| self.fetch(namespace, owner))
            .await
            .clone()
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
