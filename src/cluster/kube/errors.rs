//! kube errors → `ClusterError`, with the verb/resource/namespace of the failed call.

use kube::runtime::watcher;

use super::exec_auth::ExecAuthError;
use super::http_guard::ResponseTooLarge;
use crate::cluster::ClusterError;
use crate::sanitize;

/// What was being attempted when an error happened.
#[derive(Debug, Clone)]
pub struct ApiContext {
    pub verb: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub context: String,
    pub server: String,
}

fn from_status(code: u16, message: &str, ctx: &ApiContext) -> ClusterError {
    match code {
        401 => ClusterError::Unauthorized {
            context: ctx.context.clone(),
        },
        403 => ClusterError::Forbidden {
            verb: ctx.verb.clone(),
            resource: ctx.resource.clone(),
            namespace: ctx.namespace.clone(),
        },
        404 => ClusterError::NotFound {
            what: if message.is_empty() {
                ctx.resource.clone()
            } else {
                // kube-apiserver says `pods "x" not found`; the variant adds " not found".
                cut_body(message.trim_end().trim_end_matches(" not found"))
            },
        },
        _ => ClusterError::Api {
            code,
            message: cut_body(message),
        },
    }
}

pub fn map_err(e: kube::Error, ctx: &ApiContext) -> ClusterError {
    if let Some(auth) = find_in_chain::<ExecAuthError>(&e) {
        return ClusterError::Credentials(auth.clone());
    }
    if let Some(big) = find_in_chain::<ResponseTooLarge>(&e) {
        return ClusterError::TooLarge(big.clone());
    }
    match e {
        kube::Error::Api(status) => from_status(status.code, &status.message, ctx),
        kube::Error::SerdeError(e) => ClusterError::BadResponse {
            server: ctx.server.clone(),
            cause: format!("not the JSON the API sends: {}", cut_body(&e.to_string())),
        },
        kube::Error::FromUtf8(_) => ClusterError::BadResponse {
            server: ctx.server.clone(),
            cause: "an error body that is not UTF-8".to_string(),
        },
        other => ClusterError::Unreachable {
            server: ctx.server.clone(),
            cause: sanitize::line(&chain(&other)).into_owned(),
        },
    }
}

/// The first error of type `T` in `e`'s source chain (errors of ktui's own layers travel inside
/// kube's `Service` and hyper errors).
pub fn find_in_chain<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// Bytes of a server's text shown in a message; the rest is left out (and logged).
pub const BODY_SHOWN: usize = 1024;

/// A server's text (an error body, a Status message) made fit for a message: sanitised (an HTML
/// page's escape sequences never reach the terminal) and cut to [`BODY_SHOWN`] bytes, saying how
/// much was left out. The whole text goes to the log file.
pub fn cut_body(text: &str) -> String {
    let text = text.trim();
    if text.len() <= BODY_SHOWN {
        return sanitize::line(text).into_owned();
    }
    let mut end = BODY_SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    tracing::debug!(target: "ktui::http", body = %sanitize::line(text), "server text cut in a message");
    format!(
        "{}… ({} more bytes not shown; the whole text is in the log file at KTUI_LOG=debug)",
        sanitize::line(&text[..end]),
        text.len() - end
    )
}

/// Like [`map_err`], for writes and exec, where a 403 is not always RBAC: admission (Pod
/// Security, the ServiceAccount check, quotas, policy webhooks) also answers 403. RBAC denials
/// name the verb and resource from the server's message (server-side apply of a new object is
/// checked for `create` as well as `patch`); admission denials keep the server's reason.
pub fn map_write_err(e: kube::Error, ctx: &ApiContext) -> ClusterError {
    if let kube::Error::Api(status) = &e
        && status.code == 403
        && !status.message.is_empty()
    {
        if let Some((verb, resource)) = rbac_denial(&status.message) {
            return ClusterError::Forbidden {
                verb,
                resource,
                namespace: ctx.namespace.clone(),
            };
        }
        return ClusterError::AdmissionDenied {
            verb: ctx.verb.clone(),
            resource: ctx.resource.clone(),
            namespace: ctx.namespace.clone(),
            message: cut_body(&status.message),
        };
    }
    map_err(e, ctx)
}

/// `... is forbidden: User "u" cannot create resource "pods/exec" in API group "" ...` →
/// (`create`, `pods/exec`).
pub fn rbac_denial(message: &str) -> Option<(String, String)> {
    let rest = &message[message.find(" cannot ")? + " cannot ".len()..];
    let (verb, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("resource \"")?;
    let (resource, _) = rest.split_once('"')?;
    (!verb.is_empty() && !resource.is_empty()).then(|| (verb.to_string(), resource.to_string()))
}

pub fn map_watch_err(e: watcher::Error, ctx: &ApiContext) -> ClusterError {
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => map_err(e, ctx),
        watcher::Error::WatchError(status) => from_status(status.code, &status.message, ctx),
        watcher::Error::NoResourceVersion => ClusterError::NoResourceVersion {
            server: ctx.server.clone(),
        },
    }
}

pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(verb: &str, resource: &str) -> ApiContext {
        ApiContext {
            verb: verb.into(),
            resource: resource.into(),
            namespace: Some("ktui-system".into()),
            context: "c".into(),
            server: "s".into(),
        }
    }

    fn status(code: u16, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(
            kube::core::Status::failure(message, "Forbidden").with_code(code),
        ))
    }

    #[test]
    fn rbac_403_names_the_verb_and_resource_the_server_checked() {
        let e = map_write_err(
            status(
                403,
                r#"pods "x" is forbidden: User "u" cannot create resource "pods" in API group "" in the namespace "ktui-system""#,
            ),
            &ctx("patch", "pods"),
        );
        assert!(
            e.to_string().starts_with(
                "cannot create pods in namespace ktui-system: RBAC forbids 'create' on 'pods'"
            ),
            "{e}"
        );
    }

    #[test]
    fn pod_security_403_is_not_called_rbac() {
        let e = map_write_err(
            status(
                403,
                r#"pods "x" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true)"#,
            ),
            &ctx("patch", "pods"),
        );
        assert!(
            matches!(&e, ClusterError::AdmissionDenied { verb, namespace: Some(ns), .. }
                if verb == "patch" && ns == "ktui-system"),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.starts_with("the API server refused to patch pods in namespace ktui-system: "),
            "{text}"
        );
        assert!(!text.contains("RBAC"), "{text}");
        assert!(text.contains("violates PodSecurity"), "{text}");
        assert!(
            text.contains("pod-security.kubernetes.io/enforce=privileged"),
            "{text}"
        );
    }

    #[test]
    fn parses_rbac_messages() {
        assert_eq!(
            rbac_denial(
                r#"pods "p" is forbidden: User "a" cannot create resource "pods/exec" in API group """#
            ),
            Some(("create".into(), "pods/exec".into()))
        );
        assert_eq!(rbac_denial("something else"), None);
    }
}
