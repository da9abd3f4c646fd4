//! A checkpoint reply → the archive path, or the precise reason there is none.
//!
//! Who answered decides what a status means: the API server answers with a `metav1.Status`
//! (JSON, `"kind":"Status"`), the kubelet behind the node proxy with plain text — a 403 from the
//! first is the user's RBAC, from the second the API server's own identity.

use serde_json::Value;

use super::{
    At, CheckpointAnswer, CheckpointError, CheckpointFailure, CheckpointRequest, Reply, RuntimeGap,
};
use crate::sanitize;

/// Characters of a server's text quoted in a message.
const QUOTE_MAX: usize = 400;
/// CRIU error lines quoted, and characters of each.
const CRIU_LINES: usize = 8;
const CRIU_LINE_MAX: usize = 240;

/// What the reply to `req` means: the archive path on the node, or why there is none (with the
/// reply, for the record).
pub fn interpret(
    req: &CheckpointRequest,
    reply: Reply,
) -> Result<CheckpointAnswer, CheckpointFailure> {
    let at = req.at();
    let error = if (200..300).contains(&reply.status) {
        match node_path(&reply.body) {
            Ok(node_path) => return Ok(CheckpointAnswer { node_path, reply }),
            Err(why) => CheckpointError::BadAnswer { at, why },
        }
    } else if let Some(status) = ApiStatus::of(&reply.body) {
        from_api_server(at, reply.status, &status)
    } else {
        from_kubelet(at, reply.status, reply.body.trim())
    };
    Err(CheckpointFailure::answered(error, reply))
}

/// `{"items":["/var/lib/kubelet/checkpoints/….tar"]}` → the path.
fn node_path(body: &str) -> Result<String, String> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON: {}", quote(&e.to_string())))?;
    let first = value
        .get("items")
        .and_then(Value::as_array)
        .ok_or("no items list")?
        .first()
        .ok_or("an empty items list")?;
    let path = first.as_str().ok_or("its first item is not a string")?;
    if !path.starts_with('/') || path.chars().any(sanitize::is_unsafe) {
        return Err(format!("{} is not a path on the node", quote(path)));
    }
    Ok(path.to_string())
}

/// The parts of a `metav1.Status` a message uses.
struct ApiStatus {
    reason: String,
    message: String,
}

impl ApiStatus {
    fn of(body: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(body).ok()?;
        if v.get("kind").and_then(Value::as_str) != Some("Status") {
            return None;
        }
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some(Self {
            reason: text("reason"),
            message: text("message"),
        })
    }
}

fn from_api_server(at: At, status: u16, st: &ApiStatus) -> CheckpointError {
    let message = &st.message;
    match status {
        401 => CheckpointError::ApiUnauthorized { at },
        403 => {
            let (verb, resource) = crate::cluster::kube::errors::rbac_denial(message)
                .unwrap_or_else(|| ("create".to_string(), "nodes/proxy".to_string()));
            CheckpointError::ApiForbidden {
                at,
                user: quoted_after(message, "User \"").map(|u| quote(&u)),
                verb: quote(&verb),
                resource: quote(&resource),
            }
        }
        404 if st.reason == "NotFound" && message.starts_with("nodes ") => {
            CheckpointError::NodeNotFound { at }
        }
        502..=504 => CheckpointError::KubeletUnreachable {
            at,
            cause: quote(message),
        },
        500 if [
            "error trying to reach service",
            "error dialing backend",
            "dial tcp",
        ]
        .iter()
        .any(|m| message.contains(m)) =>
        {
            CheckpointError::KubeletUnreachable {
                at,
                cause: quote(message),
            }
        }
        _ => CheckpointError::Unexpected {
            at,
            status,
            said: quote(message),
        },
    }
}

/// The text between `start` and the next `"`.
fn quoted_after(text: &str, start: &str) -> Option<String> {
    let rest = &text[text.find(start)? + start.len()..];
    let (inner, _) = rest.split_once('"')?;
    (!inner.is_empty()).then(|| inner.to_string())
}

fn from_kubelet(at: At, status: u16, text: &str) -> CheckpointError {
    match status {
        401 => CheckpointError::KubeletUnauthorized { at },
        403 => match kubelet_forbidden(text) {
            Some((user, verb, resource, subresource)) => CheckpointError::KubeletForbidden {
                at,
                user,
                verb,
                resource,
                subresource,
            },
            None => unexpected(at, status, text),
        },
        404 if text == "404 page not found" => CheckpointError::FeatureDisabled { at },
        404 if text == "pod does not exist" => CheckpointError::PodNotFound { at },
        404 if text.starts_with("container ") && text.ends_with(" does not exist") => {
            CheckpointError::ContainerNotFound { at }
        }
        500 => from_runtime(at, text),
        _ => unexpected(at, status, text),
    }
}

fn unexpected(at: At, status: u16, text: &str) -> CheckpointError {
    CheckpointError::Unexpected {
        at,
        status,
        said: if text.is_empty() {
            "an empty body".to_string()
        } else {
            quote(text)
        },
    }
}

/// The kubelet's auth filter: `Forbidden (user=U, verb=V, resource=R, subresource(s)=[S])`
/// (Kubernetes 1.32+), `... subresource=S)` before → (user, verb, resource, subresource).
fn kubelet_forbidden(text: &str) -> Option<(String, String, String, String)> {
    let inner = text.strip_prefix("Forbidden (")?.strip_suffix(')')?;
    let field = |key: &str| {
        inner
            .split(", ")
            .find_map(|kv| kv.strip_prefix(key))
            .map(str::to_string)
    };
    let sub = field("subresource(s)=").or_else(|| field("subresource="))?;
    let sub = sub.trim_start_matches('[').trim_end_matches(']');
    let sub = sub.split_whitespace().next().unwrap_or(sub);
    Some((
        quote(&field("user=")?),
        quote(&field("verb=")?),
        quote(&field("resource=")?),
        quote(sub),
    ))
}

/// A 500: `checkpointing of NS/POD/CONTAINER failed (<the runtime's error>)`.
fn from_runtime(at: At, text: &str) -> CheckpointError {
    let inner = text
        .strip_prefix("checkpointing of ")
        .and_then(|rest| rest.split_once(" failed ("))
        .map_or(text, |(_, e)| e.strip_suffix(')').unwrap_or(e));
    let (code, desc) = rpc_status(inner);
    let lower = inner.to_ascii_lowercase();
    let said = quote(&match code {
        Some(code) => format!("{code}: {desc}"),
        None => desc.to_string(),
    });
    if code == Some("DeadlineExceeded") || lower.contains("context deadline exceeded") {
        return CheckpointError::RuntimeDeadline { at, said };
    }
    // containerd 1.7's sandboxed CRI server answers `errors.New("not implemented")`.
    let gap = if code == Some("Unimplemented") || desc.trim() == "not implemented" {
        Some(RuntimeGap::NoRpc)
    } else if lower.contains("checkpoint/restore support not available") {
        Some(RuntimeGap::CrioSupportOff)
    } else if lower.contains("criu binary not found") {
        Some(RuntimeGap::CriuMissing)
    } else {
        None
    };
    if let Some(gap) = gap {
        return CheckpointError::RuntimeUnsupported { at, gap, said };
    }
    if lower.contains("containers can be checkpointed") || lower.contains("is not running") {
        return CheckpointError::NotRunning { at, state: said };
    }
    if lower.contains("criu") {
        let (lines, log_file) = criu_lines(inner);
        let lines = if lines.is_empty() { vec![said] } else { lines };
        return CheckpointError::CriuFailed {
            at,
            lines,
            log_file,
        };
    }
    CheckpointError::RuntimeFailed { at, said }
}

/// `rpc error: code = Unimplemented desc = …` → (Some("Unimplemented"), "…"); other text
/// comes back whole.
fn rpc_status(text: &str) -> (Option<&str>, &str) {
    let Some(at) = text.find("rpc error: code = ") else {
        return (None, text);
    };
    let rest = &text[at + "rpc error: code = ".len()..];
    match rest.split_once(" desc = ") {
        Some((code, desc)) if !code.contains(' ') => (Some(code), desc),
        _ => (None, text),
    }
}

/// CRIU's error lines in a runtime's text (runc quotes them from the dump log as log lines,
/// `msg="2030:(00.07) Error (criu/sk-inet.c:191): …"`, escaped), and the log file it names.
fn criu_lines(text: &str) -> (Vec<String>, Option<String>) {
    let unescaped = text.replace("\\n", "\n").replace("\\\"", "\"");
    let mut lines = Vec::new();
    let mut log_file = None;
    for line in unescaped.lines() {
        if let Some(at) = line
            .find("Error (criu/")
            .or_else(|| line.find("criu failed:"))
        {
            let found = line[at..].trim_end_matches(['"', ' ', ':']);
            let shown = cut(&sanitize::line(found), CRIU_LINE_MAX);
            if lines.len() < CRIU_LINES && !lines.contains(&shown) {
                lines.push(shown);
            }
        }
        if let Some(at) = line.find("log file: ") {
            let path = line[at + "log file: ".len()..]
                .split(['"', ' '])
                .next()
                .unwrap_or_default();
            if path.starts_with('/') && log_file.is_none() {
                log_file = Some(quote(path));
            }
        }
    }
    (lines, log_file)
}

/// A server's text fit for a message: sanitised, cut.
fn quote(text: &str) -> String {
    cut(&sanitize::line(text.trim()), QUOTE_MAX)
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}
