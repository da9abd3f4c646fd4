//! Why a clone could not be prepared, created or removed: the step, the missing permission
//! (`create pods in shop`), an admission controller's words, and after a failed create what
//! was rolled back and what could not be.
//!
//! Texts from the API server are sanitised where `ClusterError` is built; names are printed
//! through `sanitize::line` by whoever shows the message.

use super::Existing;
use crate::clone::spec::SpecError;
use crate::cluster::{ClusterError, ObjectRef, PodKey};

/// Why one object of the plan was not created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The API server refused (RBAC, admission) or failed.
    Cluster(ClusterError),
    /// 409: an object of that name exists; ktui does not adopt what it did not create.
    Exists,
    /// The object was created but its custody line could not be written: without it
    /// `ktui cleanup` would not know the object, so it is rolled back too.
    Custody(String),
    /// The pod was created, but what the API server stored is not what was planned: a
    /// mutating webhook added containers, volumes or a token (each named), so it is rolled
    /// back rather than left running with them.
    Altered(Vec<String>),
}

/// What a rollback deleted, newest first, and what it could not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rollback {
    pub deleted: Vec<ObjectRef>,
    /// Left in the cluster, with why: to delete by hand.
    pub left: Vec<(ObjectRef, String)>,
}

/// An object of the plan that could not be created, and the rollback that followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", create_message(.object, .failure, .rollback))]
pub struct CreateFailed {
    pub object: ObjectRef,
    pub failure: Failure,
    pub rollback: Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloneError {
    /// A read the clone needs failed (the pod, its ConfigMaps, existing clones).
    #[error("cannot read {what}: {cause}")]
    Read {
        what: String,
        cause: Box<ClusterError>,
    },
    #[error(
        "pod {pod} has no crashed or unstarted container: name the container to clone with -c \
         CONTAINER (it has {})",
        words(.containers)
    )]
    NotCrashed {
        pod: PodKey,
        containers: Vec<String>,
    },
    #[error("pod {pod} has no container {container} (it has {})", words(.containers))]
    NoSuchContainer {
        pod: PodKey,
        container: String,
        containers: Vec<String>,
    },
    #[error("cannot build the clone of pod {pod}: {cause}")]
    Spec { pod: PodKey, cause: SpecError },
    /// A clone of that name exists already (an older crash of the same pod, outside the
    /// dedup window).
    #[error(
        "a forensic clone named {name} already exists in namespace {namespace} (created {}): \
         remove it first with `ktui clone --remove {name} -n {namespace}`",
        .created_at.as_deref().unwrap_or("at an unknown time")
    )]
    NameTaken {
        name: String,
        namespace: String,
        created_at: Option<String>,
    },
    /// `create` was asked while dedup offered an existing clone.
    #[error(
        "clone {} in namespace {} already stands for this crash (signature {}, created {}, \
         within the dedup window): use it, or remove it first with `ktui clone --remove {} -n {}`",
        .0.name, .0.namespace, short(&.0.signature), .0.created_at, .0.name, .0.namespace
    )]
    Duplicate(Existing),
    /// One object could not be created; its rollback says what became of the others.
    #[error(transparent)]
    Create(Box<CreateFailed>),
    /// The case refused a record before anything was created.
    #[error("cannot write {what} into case {case}: {cause}; nothing was created in the cluster")]
    Case {
        case: String,
        what: String,
        cause: String,
    },
    /// Everything was created (and has its custody lines), but `<name>.clone.json` was not
    /// written.
    #[error(
        "clone {name} was created in namespace {namespace} ({}), but its record could not be \
         written into case {case}: {cause}; the custody lines are there, so `ktui cleanup \
         --case {case}` still removes it",
        refs(.created)
    )]
    NotRecorded {
        name: String,
        namespace: String,
        created: Vec<ObjectRef>,
        case: String,
        cause: String,
    },
    /// `remove` found an object without the forensic label: not ktui's, left alone.
    #[error(
        "{object} is not a forensic clone's (it has no label ktui.dev/forensic=true): ktui deletes \
         only what it created; nothing was deleted"
    )]
    NotAClone { object: ObjectRef },
    #[error(
        "there is no forensic clone {name} in namespace {namespace} (no Pod {name}, NetworkPolicy \
         {name}-isolate or ConfigMap {name}-logs)"
    )]
    NoClone { namespace: String, name: String },
    /// The pod was deleted but is still terminating: its NetworkPolicy stays.
    #[error(
        "pod {pod} is still terminating after {secs} s: its NetworkPolicy {policy} is kept so the \
         pod stays isolated until it is gone; run `ktui clone --remove {} -n {}` again then",
        .pod.name, .pod.namespace
    )]
    StillTerminating {
        pod: PodKey,
        policy: String,
        secs: u64,
    },
    /// Some deletions of a removal failed.
    #[error("{}", remove_message(.failed, .deleted))]
    Remove {
        failed: Vec<(ObjectRef, String)>,
        deleted: Vec<ObjectRef>,
    },
}

impl CloneError {
    /// A read that failed.
    pub fn read(what: impl Into<String>, cause: ClusterError) -> Self {
        CloneError::Read {
            what: what.into(),
            cause: Box::new(cause),
        }
    }

    /// Whether the API server could not be reached at all (`ktui clone` exits 3).
    pub fn unreachable(&self) -> bool {
        match self {
            CloneError::Read { cause, .. } => matches!(**cause, ClusterError::Unreachable { .. }),
            CloneError::Create(c) => {
                matches!(
                    c.failure,
                    Failure::Cluster(ClusterError::Unreachable { .. })
                )
            }
            _ => false,
        }
    }
}

/// `create pods in shop`, for an RBAC refusal.
fn missing_permission(cause: &ClusterError) -> Option<String> {
    match cause {
        ClusterError::Forbidden {
            verb,
            resource,
            namespace,
        } => Some(match namespace {
            Some(ns) => format!("{verb} {resource} in {ns}"),
            None => format!("{verb} {resource} (cluster-wide)"),
        }),
        _ => None,
    }
}

fn create_message(object: &ObjectRef, failure: &Failure, rollback: &Rollback) -> String {
    let mut out = match failure {
        Failure::Cluster(cause) => {
            let mut text = format!("creating {object} failed: {cause}");
            if let Some(perm) = missing_permission(cause) {
                text.push_str(&format!(
                    "; missing permission: {perm} (a clone needs create and delete on \
                     networkpolicies, configmaps and pods, and on volumesnapshots when the pod \
                     has claims)"
                ));
            }
            text
        }
        Failure::Exists => format!(
            "{object} already exists: ktui does not adopt an object it did not create; delete \
             it or the old clone (`ktui clone --remove NAME -n NS`), then retry"
        ),
        Failure::Custody(cause) => format!(
            "{object} was created but its custody line could not be written ({cause}), so it \
             is rolled back"
        ),
        Failure::Altered(what) => format!(
            "{object} was created, but admission changed it ({}): a webhook ignored the \
             clone's opt-out annotations, so it is rolled back; exempt the namespace (or use \
             --forensic-namespace with one the webhook skips) and retry",
            what.join("; ")
        ),
    };
    if rollback.deleted.is_empty() && rollback.left.is_empty() {
        if !matches!(failure, Failure::Custody(_) | Failure::Altered(_)) {
            out.push_str("; nothing had been created");
        }
        return out;
    }
    if !rollback.deleted.is_empty() {
        out.push_str(&format!(
            "; rolled back: deleted {}",
            refs(&rollback.deleted)
        ));
    }
    if rollback.left.is_empty() {
        out.push_str("; nothing of the clone is left");
    } else {
        let left: Vec<String> = rollback
            .left
            .iter()
            .map(|(o, why)| format!("{o} ({why}): `{}`", kubectl_delete(o)))
            .collect();
        out.push_str(&format!(
            "; COULD NOT delete, delete by hand: {}",
            left.join("; ")
        ));
    }
    out
}

fn remove_message(failed: &[(ObjectRef, String)], deleted: &[ObjectRef]) -> String {
    let failed: Vec<String> = failed
        .iter()
        .map(|(o, why)| format!("{o}: {why}"))
        .collect();
    let mut out = format!("could not delete {}", failed.join("; "));
    if !deleted.is_empty() {
        out.push_str(&format!(" (deleted: {})", refs(deleted)));
    }
    out
}

/// `kubectl delete networkpolicy NAME -n NS`.
pub(super) fn kubectl_delete(o: &ObjectRef) -> String {
    let kind = o.kind.to_ascii_lowercase();
    let group = o
        .api_version
        .split_once('/')
        .map(|(g, _)| format!(".{g}"))
        .unwrap_or_default();
    match &o.namespace {
        Some(ns) => format!("kubectl delete {kind}{group} {} -n {ns}", o.name),
        None => format!("kubectl delete {kind}{group} {}", o.name),
    }
}

fn refs(objects: &[ObjectRef]) -> String {
    let names: Vec<String> = objects.iter().map(ToString::to_string).collect();
    names.join(", ")
}

fn words(names: &[String]) -> String {
    if names.is_empty() {
        "no containers".to_string()
    } else {
        format!("containers {}", names.join(", "))
    }
}

fn short(signature: &str) -> &str {
    signature.get(..12).unwrap_or(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn np() -> ObjectRef {
        ObjectRef::new(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            Some("shop"),
            "c-isolate",
        )
    }

    #[test]
    fn a_refused_pod_names_the_permission_and_the_rollback() {
        let cm = ObjectRef::new("v1", "ConfigMap", Some("shop"), "c-logs");
        let e = CloneError::Create(Box::new(CreateFailed {
            object: ObjectRef::new("v1", "Pod", Some("shop"), "c"),
            failure: Failure::Cluster(ClusterError::Forbidden {
                verb: "create".into(),
                resource: "pods".into(),
                namespace: Some("shop".into()),
            }),
            rollback: Rollback {
                deleted: vec![cm, np()],
                left: vec![],
            },
        }));
        let text = e.to_string();
        assert!(
            text.starts_with("creating Pod shop/c failed: cannot create pods"),
            "{text}"
        );
        assert!(
            text.contains("missing permission: create pods in shop"),
            "{text}"
        );
        assert!(
            text.contains(
                "rolled back: deleted ConfigMap shop/c-logs, NetworkPolicy shop/c-isolate; \
                 nothing of the clone is left"
            ),
            "{text}"
        );
    }

    #[test]
    fn what_could_not_be_rolled_back_is_told_with_the_command() {
        let e = CreateFailed {
            object: ObjectRef::new("v1", "ConfigMap", Some("shop"), "c-logs"),
            failure: Failure::Exists,
            rollback: Rollback {
                deleted: vec![],
                left: vec![(np(), "API server answered 500: boom".into())],
            },
        };
        let text = e.to_string();
        assert!(
            text.contains("ConfigMap shop/c-logs already exists"),
            "{text}"
        );
        assert!(
            text.contains("`kubectl delete networkpolicy.networking.k8s.io c-isolate -n shop`"),
            "{text}"
        );
        let first = CreateFailed {
            object: np(),
            failure: Failure::Exists,
            rollback: Rollback::default(),
        };
        assert!(first.to_string().ends_with("; nothing had been created"));
    }
}
