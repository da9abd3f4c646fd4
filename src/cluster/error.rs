//! Errors at the cluster boundary, phrased as what failed and what to do about it.
//!
//! Text that comes from the API server or the network (Status messages, causes) is sanitised
//! where the variant is built (`kube/errors.rs`), so a variant's message is safe to print.

use super::PodKey;
use super::kube::ConnectError;
use super::kube::exec_auth::ExecAuthError;
use super::kube::http_guard::ResponseTooLarge;

/// Result alias for cluster operations.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// 403: names the verb and resource the user lacks.
    #[error("cannot {verb} {resource} {}: RBAC forbids '{verb}' on '{resource}' (ask for a Role granting it; check with `kubectl auth can-i {verb} {resource}{}`)", scope_words(.namespace), can_i_ns(.namespace))]
    Forbidden {
        verb: String,
        resource: String,
        namespace: Option<String>,
    },
    /// 403 from admission (Pod Security, the ServiceAccount check, quotas, policy webhooks), not
    /// RBAC: the server's reason (sanitised, cut), and a hint for the refusals ktui knows.
    #[error("the API server refused to {verb} {resource}{}: {message}{}", in_namespace(.namespace), admission_hint(.message, .namespace))]
    AdmissionDenied {
        verb: String,
        resource: String,
        namespace: Option<String>,
        message: String,
    },
    /// 401: credentials expired or rejected.
    #[error(
        "the API server rejected the credentials of context '{context}' (401 Unauthorized): log in again (e.g. refresh your cloud CLI or OIDC token), then retry"
    )]
    Unauthorized { context: String },
    #[error("{what} not found")]
    NotFound { what: String },
    /// 409 on a write at a resourceVersion: someone else changed the object meanwhile.
    #[error(
        "{what} changed while ktui wrote it (409 Conflict): read it again and retry if the change still applies"
    )]
    Conflict { what: String },
    /// Network, TLS or timeout.
    #[error("cannot reach the API server at {server}: {cause}")]
    Unreachable { server: String, cause: String },
    /// The server answered, but not with what the Kubernetes API sends (a proxy's page, garbage).
    #[error(
        "the API server at {server} sent an answer ktui cannot read ({cause}): is a proxy answering instead of the API server?"
    )]
    BadResponse { server: String, cause: String },
    /// An answer beyond the size bound (the message names the URL and the bound).
    #[error(transparent)]
    TooLarge(ResponseTooLarge),
    /// The credential plugin failed (the message names the plugin and what to do).
    #[error("cannot get credentials: {0}")]
    Credentials(ExecAuthError),
    /// Any other API status (`message` sanitised and cut).
    #[error("API server answered {code}: {message}")]
    Api { code: u16, message: String },
    /// A watch event without `metadata.resourceVersion`: the watch starts over by itself.
    #[error(
        "the API server at {server} sent a watch event without a resourceVersion: the watch restarts from a fresh list (if this repeats, a proxy may be rewriting the stream)"
    )]
    NoResourceVersion { server: String },
    /// The pod watch lost the API server before its first full list ([`super::first_list`]).
    #[error("listing pods failed: {reason}")]
    ListInterrupted { reason: String },
    /// A log read or follow broke off after the stream had opened.
    #[error(
        "the logs of container {container} in pod {pod} broke off: {cause}; open the logs again to retry"
    )]
    LogsInterrupted {
        pod: PodKey,
        container: String,
        cause: String,
    },
    /// An exec could not be started (the pod, container and command, and why); boxed, as it is
    /// the largest variant.
    #[error(transparent)]
    Exec(Box<ExecFailure>),
    /// An object to write lacks part of its identity (ktui's manifests always carry it all).
    #[error(
        "an object to write has no {missing}: every object needs apiVersion, kind and metadata.name"
    )]
    Unidentified { missing: String },
    /// A namespaced object (to write or delete) that names no namespace.
    #[error(
        "cannot {verb} {object}: it is namespaced but names no namespace (set metadata.namespace: ktui writes namespaced objects only to an explicit namespace)"
    )]
    NoNamespace { verb: String, object: String },
    /// An object that is not a valid Kubernetes object.
    #[error("{object} is not a valid object to {verb}: {cause}")]
    InvalidObject {
        verb: String,
        object: String,
        cause: String,
    },
    /// API discovery does not know the kind (its API group is not served, or failed).
    #[error(
        "cannot find {kind} ({api_version}) on the API server: {cause} (is the API served by this cluster?)"
    )]
    UnknownKind {
        kind: String,
        api_version: String,
        cause: String,
    },
    /// No cluster for another kubeconfig context (`:ctx NAME`): the kubeconfig, the credentials
    /// or the server said why (boxed, as it is large).
    #[error(transparent)]
    Connect(Box<ConnectError>),
    /// Writes, exec and node reads in the demo cluster, which is a simulation.
    #[error(
        "{what} is not available in the demo cluster: run ktui against a real cluster (drop --demo)"
    )]
    NotInDemo { what: String },
}

impl From<ConnectError> for ClusterError {
    fn from(e: ConnectError) -> Self {
        ClusterError::Connect(Box::new(e))
    }
}

/// An exec that could not start ([`ClusterError::Exec`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot exec {}in pod {pod} (container {container}): {problem}", command_words(.argv))]
pub struct ExecFailure {
    pub pod: PodKey,
    pub container: String,
    pub argv: Vec<String>,
    pub problem: ExecProblem,
}

/// Why an exec could not start ([`ExecFailure`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecProblem {
    /// An empty argv (a bug in the caller).
    #[error("no command given")]
    NoCommand,
    /// The API server answered 400 or 500: usually the pod is not Running or the container
    /// has not started (`message` sanitised, cut).
    #[error(
        "{message} (is the pod Running and the container started? check `kubectl get pod` and its events)"
    )]
    Refused { message: String },
    /// The WebSocket upgrade failed (`cause` sanitised).
    #[error(
        "the API server did not upgrade the connection to a WebSocket ({cause}); a proxy between ktui and the API server may block WebSockets"
    )]
    NoWebSocket { cause: String },
    /// The session opened but without the named stream (stdin, stdout or the status channel).
    #[error(
        "the exec session opened without its {0} stream: retry; if it persists, the API server or kubelet does not speak the exec protocol kube-rs expects"
    )]
    NotAttached(&'static str),
}

/// "`a b` " for a command, nothing for none (the [`ExecProblem::NoCommand`] case).
fn command_words(argv: &[String]) -> String {
    if argv.is_empty() {
        String::new()
    } else {
        format!("`{}` ", argv.join(" "))
    }
}

fn in_namespace(namespace: &Option<String>) -> String {
    namespace
        .as_deref()
        .map(|ns| format!(" in namespace {ns}"))
        .unwrap_or_default()
}

/// What to do about the admission refusals ktui knows (it applies the ServiceAccount before the
/// pod; the helper needs a privileged namespace).
fn admission_hint(message: &str, namespace: &Option<String>) -> String {
    if message.contains("violates PodSecurity") {
        let ns = namespace.as_deref().unwrap_or("NAMESPACE");
        format!(
            " (the namespace's Pod Security level does not admit this pod: label it with \
             `kubectl label namespace {ns} pod-security.kubernetes.io/enforce=privileged --overwrite` \
             or use a namespace that allows privileged pods)"
        )
    } else if message.contains("service account") {
        " (create the ServiceAccount first: ktui applies it before the pod)".to_string()
    } else {
        String::new()
    }
}

fn scope_words(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "at cluster scope (all namespaces)".to_string(),
    }
}

fn can_i_ns(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!(" -n {ns}"),
        None => " -A".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_verb_resource_and_namespace() {
        let e = ClusterError::Forbidden {
            verb: "list".into(),
            resource: "pods".into(),
            namespace: Some("prod".into()),
        };
        assert!(
            e.to_string()
                .starts_with("cannot list pods in namespace prod: RBAC forbids 'list' on 'pods'"),
            "{e}"
        );
    }

    #[test]
    fn exec_names_command_pod_and_container() {
        let failure = |argv: &[&str], problem| {
            ClusterError::Exec(Box::new(ExecFailure {
                pod: PodKey::new("ktui-system", "ktui-helper-n1"),
                container: "helper".into(),
                argv: argv.iter().map(|a| a.to_string()).collect(),
                problem,
            }))
            .to_string()
        };
        assert_eq!(
            failure(
                &["ktui-helper", "serve"],
                ExecProblem::NotAttached("stdout")
            ),
            "cannot exec `ktui-helper serve` in pod ktui-system/ktui-helper-n1 (container helper): \
             the exec session opened without its stdout stream: retry; if it persists, the API \
             server or kubelet does not speak the exec protocol kube-rs expects"
        );
        assert_eq!(
            failure(&[], ExecProblem::NoCommand),
            "cannot exec in pod ktui-system/ktui-helper-n1 (container helper): no command given"
        );
    }

    #[test]
    fn an_object_without_identity_names_what_it_lacks() {
        let e = super::super::ObjectRef::of(&serde_json::json!({"apiVersion": "v1"})).unwrap_err();
        assert_eq!(
            e,
            ClusterError::Unidentified {
                missing: "kind, metadata.name".into()
            }
        );
        assert!(
            e.to_string()
                .starts_with("an object to write has no kind, metadata.name: "),
            "{e}"
        );
    }
}
