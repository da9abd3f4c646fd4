//! The table of resource types the fake server knows about.

/// One served resource type (a group/version/kind and its REST name).
#[derive(Debug)]
pub(crate) struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The REST collection name (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    /// Field selector labels this type supports, besides `metadata.name` and
    /// `metadata.namespace`, each with the JSON path it reads (dotted).
    pub fields: &'static [(&'static str, &'static str)],
    /// Subresources advertised in discovery (and, for `log`/`status`, served).
    pub subresources: &'static [&'static str],
    /// Whether the type is always served, or only when the store says so.
    pub gate: Gate,
}

/// When a type is served: always (built into kube-apiserver), or only while the store serves
/// an optional API (a CRD a cluster may not have installed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Always,
    /// `snapshot.storage.k8s.io/v1` (the external-snapshotter CRDs): `Store::serve_snapshots`.
    Snapshots,
}

/// Which optional APIs are served now (from the store).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Served {
    pub snapshots: bool,
}

impl Served {
    pub fn serves(self, r: &ResourceType) -> bool {
        match r.gate {
            Gate::Always => true,
            Gate::Snapshots => self.snapshots,
        }
    }
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `pods` or `deployments.apps`, as used in kube-apiserver error messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `{"apiVersion":"v1","kind":"Pod",` — the prefix spliced in front of a
    /// stored body (which lacks the type fields) to make a standalone object.
    pub fn type_prefix(&self) -> String {
        format!(
            "{{\"apiVersion\":\"{}\",\"kind\":\"{}\",",
            self.api_version(),
            self.kind
        )
    }
}

/// Index of a type in [`RESOURCES`].
pub(crate) type ResId = usize;

const COMMON_FIELDS: &[(&str, &str)] = &[];

const POD_FIELDS: &[(&str, &str)] = &[
    ("spec.nodeName", "spec.nodeName"),
    ("spec.restartPolicy", "spec.restartPolicy"),
    ("spec.schedulerName", "spec.schedulerName"),
    ("spec.serviceAccountName", "spec.serviceAccountName"),
    ("spec.hostNetwork", "spec.hostNetwork"),
    ("status.phase", "status.phase"),
    ("status.podIP", "status.podIP"),
    ("status.nominatedNodeName", "status.nominatedNodeName"),
];

const CORE_EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject.kind", "involvedObject.kind"),
    ("involvedObject.namespace", "involvedObject.namespace"),
    ("involvedObject.name", "involvedObject.name"),
    ("involvedObject.uid", "involvedObject.uid"),
    ("involvedObject.apiVersion", "involvedObject.apiVersion"),
    (
        "involvedObject.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("involvedObject.fieldPath", "involvedObject.fieldPath"),
    ("reason", "reason"),
    ("reportingComponent", "reportingComponent"),
    ("source", "source.component"),
    ("type", "type"),
];

const EVENTS_V1_FIELDS: &[(&str, &str)] = &[
    ("regarding.kind", "regarding.kind"),
    ("regarding.namespace", "regarding.namespace"),
    ("regarding.name", "regarding.name"),
    ("regarding.uid", "regarding.uid"),
    ("regarding.apiVersion", "regarding.apiVersion"),
    ("regarding.resourceVersion", "regarding.resourceVersion"),
    ("regarding.fieldPath", "regarding.fieldPath"),
    ("reason", "reason"),
    ("reportingController", "reportingController"),
    ("type", "type"),
];

const NAMESPACE_FIELDS: &[(&str, &str)] = &[("status.phase", "status.phase")];
const NODE_FIELDS: &[(&str, &str)] = &[("spec.unschedulable", "spec.unschedulable")];
const REPLICASET_FIELDS: &[(&str, &str)] = &[("status.replicas", "status.replicas")];
const JOB_FIELDS: &[(&str, &str)] = &[("status.successful", "status.successful")];

const STATUS: &[&str] = &["status"];
const SCALABLE: &[&str] = &["scale", "status"];

macro_rules! res {
    ($group:expr, $kind:expr, $plural:expr, $singular:expr, $short:expr, $namespaced:expr, $fields:expr, $sub:expr) => {
        ResourceType {
            group: $group,
            version: "v1",
            kind: $kind,
            plural: $plural,
            singular: $singular,
            short_names: $short,
            namespaced: $namespaced,
            fields: $fields,
            subresources: $sub,
            gate: Gate::Always,
        }
    };
}

/// Every served type. Order is irrelevant except that indices are stable.
pub(crate) static RESOURCES: &[ResourceType] = &[
    res!(
        "",
        "Pod",
        "pods",
        "pod",
        &["po"],
        true,
        POD_FIELDS,
        &["exec", "log", "status"]
    ),
    res!(
        "",
        "Event",
        "events",
        "event",
        &["ev"],
        true,
        CORE_EVENT_FIELDS,
        &[]
    ),
    res!(
        "",
        "Namespace",
        "namespaces",
        "namespace",
        &["ns"],
        false,
        NAMESPACE_FIELDS,
        STATUS
    ),
    res!(
        "",
        "Node",
        "nodes",
        "node",
        &["no"],
        false,
        NODE_FIELDS,
        STATUS
    ),
    res!(
        "",
        "Service",
        "services",
        "service",
        &["svc"],
        true,
        COMMON_FIELDS,
        STATUS
    ),
    res!(
        "",
        "ConfigMap",
        "configmaps",
        "configmap",
        &["cm"],
        true,
        COMMON_FIELDS,
        &[]
    ),
    res!(
        "",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        &["pvc"],
        true,
        COMMON_FIELDS,
        STATUS
    ),
    res!(
        "",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        &["pv"],
        false,
        COMMON_FIELDS,
        STATUS
    ),
    res!(
        "apps",
        "Deployment",
        "deployments",
        "deployment",
        &["deploy"],
        true,
        COMMON_FIELDS,
        SCALABLE
    ),
    res!(
        "apps",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        &["rs"],
        true,
        REPLICASET_FIELDS,
        SCALABLE
    ),
    res!(
        "apps",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        &["sts"],
        true,
        COMMON_FIELDS,
        SCALABLE
    ),
    res!(
        "apps",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        &["ds"],
        true,
        COMMON_FIELDS,
        STATUS
    ),
    res!("batch", "Job", "jobs", "job", &[], true, JOB_FIELDS, STATUS),
    res!(
        "batch",
        "CronJob",
        "cronjobs",
        "cronjob",
        &["cj"],
        true,
        COMMON_FIELDS,
        STATUS
    ),
    res!(
        "events.k8s.io",
        "Event",
        "events",
        "event",
        &["ev"],
        true,
        EVENTS_V1_FIELDS,
        &[]
    ),
    res!(
        "",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        &["sa"],
        true,
        COMMON_FIELDS,
        &[]
    ),
    res!(
        "",
        "Secret",
        "secrets",
        "secret",
        &[],
        true,
        COMMON_FIELDS,
        &[]
    ),
    res!(
        "networking.k8s.io",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        &["netpol"],
        true,
        COMMON_FIELDS,
        &[]
    ),
    res!(
        "policy",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        &["pdb"],
        true,
        COMMON_FIELDS,
        STATUS
    ),
    ResourceType {
        gate: Gate::Snapshots,
        ..res!(
            "snapshot.storage.k8s.io",
            "VolumeSnapshot",
            "volumesnapshots",
            "volumesnapshot",
            &["vs"],
            true,
            COMMON_FIELDS,
            STATUS
        )
    },
    ResourceType {
        gate: Gate::Snapshots,
        ..res!(
            "snapshot.storage.k8s.io",
            "VolumeSnapshotClass",
            "volumesnapshotclasses",
            "volumesnapshotclass",
            &["vsclass", "vsclasses"],
            false,
            COMMON_FIELDS,
            &[]
        )
    },
    res!(
        "coordination.k8s.io",
        "Lease",
        "leases",
        "lease",
        &[],
        true,
        COMMON_FIELDS,
        &[]
    ),
];

pub(crate) const POD: ResId = 0;
pub(crate) const CORE_EVENT: ResId = 1;
pub(crate) const NAMESPACE: ResId = 2;
pub(crate) const NODE: ResId = 3;
pub(crate) const EVENTS_V1: ResId = 14;
pub(crate) const SERVICE_ACCOUNT: ResId = 15;

/// The type served at `/api/v1/...` (group "") or `/apis/{group}/{version}/...`.
pub(crate) fn by_path(group: &str, version: &str, plural: &str) -> Option<ResId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The type of an object given its `apiVersion` and `kind`.
pub(crate) fn by_api_version_kind(api_version: &str, kind: &str) -> Option<ResId> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.kind == kind)
}

/// Resolves what a test passes to `Store::delete`: a kind (`Pod`), a plural
/// (`pods`), or either qualified by group (`Event.events.k8s.io`,
/// `deployments.apps`). Case-insensitive; unqualified names prefer the core
/// group.
pub(crate) fn by_name(name: &str) -> Option<ResId> {
    let (base, group) = match name.split_once('.') {
        Some((base, group)) => (base, Some(group)),
        None => (name, None),
    };
    RESOURCES.iter().position(|r| {
        (r.kind.eq_ignore_ascii_case(base) || r.plural.eq_ignore_ascii_case(base))
            && group.is_none_or(|g| r.group.eq_ignore_ascii_case(g))
    })
}

/// The distinct group/versions served, in table order: `("", "v1")`, `("apps", "v1")`, ...
pub(crate) fn group_versions(served: Served) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| served.serves(r)) {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(by_path("", "v1", "pods"), Some(POD));
        assert_eq!(by_api_version_kind("v1", "Event"), Some(CORE_EVENT));
        assert_eq!(
            by_api_version_kind("events.k8s.io/v1", "Event"),
            Some(EVENTS_V1)
        );
        assert_eq!(by_name("Namespace"), Some(NAMESPACE));
        assert_eq!(by_name("event"), Some(CORE_EVENT));
        assert_eq!(by_name("Event.events.k8s.io"), Some(EVENTS_V1));
        assert_eq!(
            RESOURCES[by_name("deployments.apps").unwrap_or(0)].kind,
            "Deployment"
        );
        assert_eq!(RESOURCES[EVENTS_V1].group, "events.k8s.io");
        assert_eq!(RESOURCES[NODE].kind, "Node");
        assert_eq!(by_name("serviceaccounts"), Some(SERVICE_ACCOUNT));
        let lease = by_api_version_kind("coordination.k8s.io/v1", "Lease").unwrap();
        assert_eq!(RESOURCES[lease].plural, "leases");
        assert!(RESOURCES[lease].namespaced);
    }

    #[test]
    fn snapshot_types_are_served_only_when_switched_on() {
        let snapshots = ("snapshot.storage.k8s.io", "v1");
        assert!(!group_versions(Served::default()).contains(&snapshots));
        assert!(group_versions(Served { snapshots: true }).contains(&snapshots));
        let vs = by_api_version_kind("snapshot.storage.k8s.io/v1", "VolumeSnapshot").unwrap();
        assert!(!Served::default().serves(&RESOURCES[vs]));
        let np = by_api_version_kind("networking.k8s.io/v1", "NetworkPolicy").unwrap();
        assert!(Served::default().serves(&RESOURCES[np]));
    }
}
