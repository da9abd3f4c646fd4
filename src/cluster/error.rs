//! Errors at the cluster boundary, phrased as what failed and what to do about it.

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
    /// 401: credentials expired or rejected.
    #[error(
        "the API server rejected the credentials of context '{context}' (401 Unauthorized): log in again (e.g. refresh your cloud CLI or OIDC token), then retry"
    )]
    Unauthorized { context: String },
    #[error("{what} not found")]
    NotFound { what: String },
    /// Network, TLS or timeout.
    #[error("cannot reach the API server at {server}: {cause}")]
    Unreachable { server: String, cause: String },
    /// The server answered, but not with what the Kubernetes API sends (a proxy's page, garbage).
    #[error(
        "the API server at {server} sent an answer ktui cannot read ({cause}): is a proxy answering instead of the API server?"
    )]
    BadResponse { server: String, cause: String },
    /// An answer beyond the size bound (the message names the URL and the bound).
    #[error("{0}")]
    TooLarge(String),
    /// The credential plugin failed (the message names the plugin and what to do).
    #[error("cannot get credentials: {0}")]
    Credentials(String),
    /// Any other API status (`message` sanitised and cut).
    #[error("API server answered {code}: {message}")]
    Api { code: u16, message: String },
    #[error("{0}")]
    Other(String),
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
}
