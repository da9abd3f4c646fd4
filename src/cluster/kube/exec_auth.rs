//! Exec credential plugins (`users[].user.exec`: `aws eks get-token`, `gke-gcloud-auth-plugin`,
//! `kubelogin`), run by ktui itself rather than by kube-client, which runs them with a blocking
//! `Command::output()` that no timeout can stop, inherits the terminal while the console owns it,
//! and prints the command with its environment and the plugin's output (tokens) in its errors.
//!
//! Here a plugin runs as a tokio child process with a deadline of its own
//! ([`DEFAULT_EXEC_TIMEOUT`], `--exec-timeout`), killed when it passes. It may talk to the user
//! (device-code logins) only before the console takes the terminal; afterwards a token refresh
//! runs it without a terminal. Messages name the plugin command, never its environment or output.
//! The token is cached until shortly before its `expirationTimestamp` and added to each request
//! by [`ExecAuthLayer`].

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use http::Request;
use kube::config::{ExecConfig, ExecInteractiveMode};
use serde::Deserialize;

use crate::sanitize;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a credential plugin may run before it is stopped.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// A cached token is renewed this long before it expires.
const RENEW_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);
/// At most this much of the plugin's stderr is shown (its last lines), redacted.
const STDERR_SHOWN: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecAuthError {
    #[error(
        "the credential plugin `{command}` did not finish within {secs} s and was stopped; if it waits for a browser or device-code login, give it longer with --exec-timeout (e.g. --exec-timeout 5m)"
    )]
    Timeout { command: String, secs: u64 },
    #[error("cannot run the credential plugin `{command}`: {cause}{hint}")]
    Start {
        command: String,
        cause: String,
        hint: String,
    },
    #[error(
        "the credential plugin `{command}` failed ({status}){stderr}; log in again (e.g. with your cloud CLI) and retry"
    )]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error(
        "the credential plugin `{command}` printed no usable credential ({why}); its output is not shown because it may hold secrets"
    )]
    BadOutput { command: String, why: &'static str },
    #[error(
        "the credential plugin `{command}` needs a terminal to log in (interactiveMode: Always), and the console owns it now: quit ktui, log in, and start it again"
    )]
    NeedsTerminal { command: String },
}

/// What the plugin printed, as far as ktui uses it.
#[derive(Debug, Deserialize)]
struct ExecCredential {
    status: Option<CredentialStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialStatus {
    token: Option<String>,
    expiration_timestamp: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// A client certificate and key (PEM) the plugin returned instead of, or beside, a token.
#[derive(Clone)]
pub struct ClientCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCert(..)")
    }
}

#[derive(Clone)]
struct Cached {
    token: Option<String>,
    cert: Option<ClientCert>,
    expires: Option<jiff::Timestamp>,
}

/// One user's exec plugin, its deadline and the credential it last gave.
pub struct ExecAuth {
    exec: ExecConfig,
    timeout: Duration,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for ExecAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExecAuth({})", self.command())
    }
}

impl ExecAuth {
    pub fn new(exec: ExecConfig, timeout: Duration) -> Self {
        Self {
            exec,
            timeout,
            cached: Mutex::new(None),
        }
    }

    /// The plugin command as shown in messages: its file name only (paths can name users).
    pub fn command(&self) -> String {
        let full = self.exec.command.as_deref().unwrap_or("");
        let name = std::path::Path::new(full)
            .file_name()
            .map_or(full.to_string(), |n| n.to_string_lossy().into_owned());
        sanitize::line(&name).into_owned()
    }

    fn fresh(&self) -> Option<Cached> {
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()?;
        let valid = cached
            .expires
            .is_none_or(|at| jiff::Timestamp::now() + RENEW_BEFORE < at);
        valid.then_some(cached)
    }

    /// A valid token (cached, or from a new run of the plugin); `None` when the plugin gives
    /// a client certificate only.
    pub async fn token(&self) -> Result<Option<String>, ExecAuthError> {
        if let Some(c) = self.fresh() {
            return Ok(c.token);
        }
        Ok(self.run().await?.token)
    }

    /// The client certificate of the first run (see [`ExecAuth::token`]).
    pub async fn client_cert(&self) -> Result<Option<ClientCert>, ExecAuthError> {
        if let Some(c) = self.fresh() {
            return Ok(c.cert);
        }
        Ok(self.run().await?.cert)
    }

    async fn run(&self) -> Result<Cached, ExecAuthError> {
        let command = self.command();
        let Some(program) = self.exec.command.clone().filter(|c| !c.is_empty()) else {
            return Err(ExecAuthError::Start {
                command,
                cause: "the kubeconfig's exec entry has no command".to_string(),
                hint: String::new(),
            });
        };
        let mode = self.exec.interactive_mode.clone();
        let can_talk = !crate::terminal::is_owned() && std::io::stdin().is_terminal();
        let interactive = can_talk && mode != Some(ExecInteractiveMode::Never);
        if mode == Some(ExecInteractiveMode::Always) && !can_talk {
            return Err(ExecAuthError::NeedsTerminal { command });
        }
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(self.exec.args.iter().flatten());
        for var in self.exec.env.iter().flatten() {
            if let (Some(name), Some(value)) = (var.get("name"), var.get("value")) {
                cmd.env(name, value);
            }
        }
        for name in self.exec.drop_env.iter().flatten() {
            cmd.env_remove(name);
        }
        cmd.env("KUBERNETES_EXEC_INFO", self.exec_info(interactive));
        cmd.stdout(std::process::Stdio::piped());
        if interactive {
            cmd.stdin(std::process::Stdio::inherit());
            cmd.stderr(std::process::Stdio::inherit());
        } else {
            cmd.stdin(std::process::Stdio::null());
            cmd.stderr(std::process::Stdio::piped());
        }
        cmd.kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| ExecAuthError::Start {
            command: command.clone(),
            hint: if e.kind() == std::io::ErrorKind::NotFound {
                self.exec
                    .install_hint
                    .as_deref()
                    .map(|h| format!(" (not found: {})", sanitize::line(h.trim())))
                    .unwrap_or_else(|| " (not found on PATH)".to_string())
            } else {
                String::new()
            },
            cause: e.to_string(),
        })?;
        // Dropping the child on timeout kills it (kill_on_drop).
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                return Err(ExecAuthError::Start {
                    command,
                    cause: e.to_string(),
                    hint: String::new(),
                });
            }
            Err(_) => {
                return Err(ExecAuthError::Timeout {
                    command,
                    secs: self.timeout.as_secs(),
                });
            }
        };
        if !output.status.success() {
            return Err(ExecAuthError::Failed {
                command,
                status: match output.status.code() {
                    Some(code) => format!("exit code {code}"),
                    None => "killed by a signal".to_string(),
                },
                stderr: stderr_tail(&output.stderr, &self.secret_values()),
            });
        }
        let cached = parse(&output.stdout).map_err(|why| ExecAuthError::BadOutput {
            command: command.clone(),
            why,
        })?;
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) = Some(cached.clone());
        Ok(cached)
    }

    /// Values the kubeconfig gives the plugin's environment: never shown.
    fn secret_values(&self) -> Vec<String> {
        self.exec
            .env
            .iter()
            .flatten()
            .filter_map(|v| v.get("value").filter(|v| v.len() >= 4).cloned())
            .collect()
    }

    /// `KUBERNETES_EXEC_INFO` as client-go sets it.
    fn exec_info(&self, interactive: bool) -> String {
        let mut spec = serde_json::json!({ "interactive": interactive });
        if self.exec.provide_cluster_info
            && let Some(cluster) = &self.exec.cluster
            && let Ok(c) = serde_json::to_value(cluster)
        {
            spec["cluster"] = c;
        }
        serde_json::json!({
            "apiVersion": self
                .exec
                .api_version
                .as_deref()
                .unwrap_or("client.authentication.k8s.io/v1"),
            "kind": "ExecCredential",
            "spec": spec,
        })
        .to_string()
    }
}

/// The plugin's stdout → the credential; errors say what is wrong without quoting it.
fn parse(stdout: &[u8]) -> Result<Cached, &'static str> {
    // client-go decodes with a YAML-tolerant codec; JSON is what plugins print.
    let cred: ExecCredential = serde_json::from_slice(stdout)
        .or_else(|_| serde_saphyr::from_slice(stdout))
        .map_err(|_| "not an ExecCredential in JSON")?;
    let status = cred.status.ok_or("the ExecCredential has no status")?;
    let expires = match &status.expiration_timestamp {
        Some(t) => Some(
            t.parse::<jiff::Timestamp>()
                .map_err(|_| "status.expirationTimestamp is not an RFC 3339 time")?,
        ),
        None => None,
    };
    let cert = match (status.client_certificate_data, status.client_key_data) {
        (Some(cert_pem), Some(key_pem)) => Some(ClientCert { cert_pem, key_pem }),
        (None, None) => None,
        _ => return Err("status has a client certificate without its key, or the reverse"),
    };
    let token = status.token.filter(|t| !t.is_empty());
    if token.is_none() && cert.is_none() {
        return Err("status has neither a token nor a client certificate");
    }
    Ok(Cached {
        token,
        cert,
        expires,
    })
}

/// The plugin's last stderr lines, sanitised: lines that look like an environment dump
/// (`NAME=value`) are dropped, and anything that looks like a credential (a long run of token
/// characters, a value of the plugin's configured environment) is replaced.
fn stderr_tail(stderr: &[u8], secrets: &[String]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_env_line(l))
        .map(|l| {
            let mut l = redact(l);
            for s in secrets {
                l = l.replace(s.as_str(), "[redacted]");
            }
            l
        })
        .collect();
    let mut tail = String::new();
    for line in lines.iter().rev() {
        if tail.len() + line.len() > STDERR_SHOWN {
            break;
        }
        tail = if tail.is_empty() {
            line.clone()
        } else {
            format!("{line} | {tail}")
        };
    }
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", sanitize::line(&tail))
    }
}

fn is_env_line(line: &str) -> bool {
    line.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

fn redact(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let tokenish = word.len() >= 32
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.=+/".contains(c));
            if tokenish { "[redacted]" } else { word }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds `Authorization: Bearer <token>` from an [`ExecAuth`] to every request.
#[derive(Clone, Debug)]
pub struct ExecAuthLayer(pub Arc<ExecAuth>);

impl<S> tower_layer::Layer<S> for ExecAuthLayer {
    type Service = ExecAuthService<S>;

    fn layer(&self, inner: S) -> ExecAuthService<S> {
        ExecAuthService {
            inner,
            auth: self.0.clone(),
            pending: None,
            ready: None,
        }
    }
}

/// Gets the token while the service is polled for readiness (kube's client buffers requests and
/// calls one at a time), so no request waits on a clone of the inner service. A failed run is
/// the error of the next request, not of the service: the next one tries again.
pub struct ExecAuthService<S> {
    inner: S,
    auth: Arc<ExecAuth>,
    pending: Option<BoxFuture<'static, Result<Option<String>, ExecAuthError>>>,
    ready: Option<Result<Option<String>, ExecAuthError>>,
}

impl<S, B> tower_service::Service<Request<B>> for ExecAuthService<S>
where
    S: tower_service::Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        loop {
            if self.ready.is_some() {
                return self.inner.poll_ready(cx).map_err(Into::into);
            }
            if let Some(fut) = self.pending.as_mut() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(r) => {
                        self.pending = None;
                        self.ready = Some(r);
                    }
                    Poll::Pending => return Poll::Pending,
                }
                continue;
            }
            match self.auth.fresh() {
                Some(c) => self.ready = Some(Ok(c.token)),
                None => {
                    let auth = self.auth.clone();
                    self.pending = Some(Box::pin(async move { auth.token().await }));
                }
            }
        }
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match self.ready.take() {
            Some(Ok(token)) => {
                if let Some(token) = token
                    && let Ok(mut value) = http::HeaderValue::from_str(&format!("Bearer {token}"))
                {
                    value.set_sensitive(true);
                    req.headers_mut().insert(http::header::AUTHORIZATION, value);
                }
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Some(Err(e)) => Box::pin(std::future::ready(Err(Box::new(e) as BoxError))),
            None => Box::pin(std::future::ready(Err(
                "the credential plugin's service was called before it was ready".into(),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tokens_and_certs_without_quoting_output() {
        let ok = br#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"t0k","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#;
        let c = parse(ok).unwrap();
        assert_eq!(c.token.as_deref(), Some("t0k"));
        assert!(c.expires.is_some());
        let e = parse(b"SECRET-NOT-JSON").err().unwrap();
        assert!(!e.contains("SECRET"), "{e}");
        assert!(parse(br#"{"status":{}}"#).is_err());
    }

    #[test]
    fn stderr_is_cut_sanitised_and_redacted() {
        let s = stderr_tail(
            b"line one\n\x1b[31merror\x1b[0m: token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9abcdef is expired\nAWS_SECRET=x\nuser pw hunter22\n",
            &["hunter22".to_string()],
        );
        assert!(!s.contains("AWS_SECRET") && !s.contains("hunter22"), "{s}");
        assert!(!s.contains('\x1b'), "{s}");
        assert!(!s.contains("eyJhbGci"), "{s}");
        assert!(s.contains("is expired"), "{s}");
        assert!(stderr_tail(&vec![b'x'; 10_000], &[]).len() < 600);
    }
}
