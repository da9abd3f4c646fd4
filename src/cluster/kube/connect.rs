//! Kubeconfig → `kube::Client`, checked with `GET /version` within a deadline. Each way this can
//! fail has its own message: a kubeconfig that does not parse is not a network problem, and a
//! login page answering for the API server is not an unreachable server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::errors::{cut_body, find_in_chain};
use super::exec_auth::{DEFAULT_EXEC_TIMEOUT, ExecAuth, ExecAuthError, ExecAuthLayer};
use super::http_guard::{DEFAULT_RESPONSE_LIMIT, GuardLayer, Liveness, ResponseTooLarge};
use super::kubeconfig::{self, KubeconfigLoadError};
use crate::cluster::ContextInfo;
use crate::sanitize;

/// How long the API server gets to answer `GET /version`.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to connect: the pinned `--kubeconfig`, `--context`, `-n` flags, and `--exec-timeout`.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// How long a credential plugin may run.
    pub exec_timeout: Duration,
    /// Bytes a list page (or one watch event) may have.
    pub response_limit: u64,
    /// What a checkpoint waits beyond its timeout for the kubelet's answer.
    pub checkpoint_grace: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            namespace: None,
            exec_timeout: DEFAULT_EXEC_TIMEOUT,
            response_limit: DEFAULT_RESPONSE_LIMIT,
            checkpoint_grace: crate::checkpoint::kubelet::DEFAULT_GRACE,
        }
    }
}

const DEMO: &str = "to look around without a cluster, run `ktui --demo`";

/// Why no cluster could be reached; rendered on stderr before exit code 3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}\nhint: {hint}; {DEMO}", hint = kubeconfig_hint(.0))]
    Kubeconfig(KubeconfigLoadError),
    #[error(
        "context '{}' is not in the kubeconfig (it has: {known}); see `kubectl config get-contexts`",
        sanitize::line(.context)
    )]
    UnknownContext { context: String, known: String },
    #[error("the kubeconfig's context '{}' cannot be used: {cause}", sanitize::line(.context))]
    BadContext { context: String, cause: String },
    #[error("cannot get credentials for context '{}': {source}", sanitize::line(.context))]
    Credentials {
        context: String,
        source: ExecAuthError,
    },
    #[error(
        "cannot connect to context '{}' (server {}): {cause}\nhint: check the VPN/network and `kubectl --context {} get --raw /version`; {DEMO}",
        sanitize::line(.context), sanitize::line(.server), sanitize::line(.context)
    )]
    Unreachable {
        context: String,
        server: String,
        cause: String,
    },
    #[error(
        "the server of context '{}' ({}) did not answer GET /version like a Kubernetes API server ({cause}): check the server URL in the kubeconfig (is a proxy or a login page answering instead?)",
        sanitize::line(.context), sanitize::line(.server)
    )]
    NotKubernetes {
        context: String,
        server: String,
        cause: String,
    },
    #[error(
        "the API server of context '{}' ({}) rejected the credentials (401 Unauthorized): log in again (e.g. refresh your cloud CLI or OIDC token), then retry",
        sanitize::line(.context), sanitize::line(.server)
    )]
    Unauthorized { context: String, server: String },
    #[error(
        "the API server of context '{}' ({}) answered GET /version with {code}: {message}",
        sanitize::line(.context), sanitize::line(.server)
    )]
    Api {
        context: String,
        server: String,
        code: u16,
        message: String,
    },
}

fn kubeconfig_hint(e: &KubeconfigLoadError) -> &'static str {
    match e {
        KubeconfigLoadError::Malformed { .. } | KubeconfigLoadError::Merge { .. } => {
            "fix the file (`kubectl config view` reads it the same way)"
        }
        KubeconfigLoadError::Unreadable { .. } => "check the path and its permissions",
        KubeconfigLoadError::Missing(_) => {
            "create one with your cloud CLI (e.g. `aws eks update-kubeconfig`)"
        }
    }
}

/// A connected client and what the pod watch needs to judge its liveness.
pub struct Connected {
    pub client: Client,
    pub info: ContextInfo,
    pub liveness: Liveness,
}

/// Build a client for the selected context and check that the server answers.
pub async fn connect(opts: &ConnectOptions) -> Result<Connected, ConnectError> {
    crate::tls::install_crypto_provider();
    let (mut config, context, kube_user) = match kubeconfig::load(opts.kubeconfig.as_deref()) {
        Ok(kubeconfig) => {
            let context = opts
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone())
                .unwrap_or_default();
            check_context(&kubeconfig, &context)?;
            let kube_user = user_of(&kubeconfig, &context);
            let options = KubeConfigOptions {
                context: opts.context.clone(),
                ..KubeConfigOptions::default()
            };
            let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| ConnectError::BadContext {
                    context: context.clone(),
                    cause: sanitize::line(&e.to_string()).into_owned(),
                })?;
            (config, context, kube_user)
        }
        // Inside a pod with no kubeconfig: use the service account, like kubectl does.
        Err(err @ KubeconfigLoadError::Missing(_)) if opts.kubeconfig.is_none() => {
            match Config::incluster() {
                Ok(config) => (config, "in-cluster".to_string(), None),
                Err(_) => return Err(ConnectError::Kubeconfig(err)),
            }
        }
        Err(err) => return Err(ConnectError::Kubeconfig(err)),
    };
    let server = config.cluster_url.to_string();
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let credentials = |source| ConnectError::Credentials {
        context: context.clone(),
        source,
    };
    // The exec plugin is ktui's to run (see exec_auth): run it now, while it may still talk to
    // the user, so a login happens before the console takes the terminal.
    let exec = config
        .auth_info
        .exec
        .take()
        .map(|e| Arc::new(ExecAuth::new(e, opts.exec_timeout)));
    if let Some(auth) = &exec {
        if let Some(cert) = auth.client_cert().await.map_err(credentials)? {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            config.auth_info.client_certificate_data = Some(b64.encode(cert.cert_pem));
            config.auth_info.client_key_data = Some(b64.encode(cert.key_pem).into());
        }
        auth.token().await.map_err(credentials)?;
    }
    let liveness = Liveness::default();
    let builder = ClientBuilder::try_from(config).map_err(|e| ConnectError::BadContext {
        context: context.clone(),
        cause: sanitize::line(&super::errors::chain(&e)).into_owned(),
    })?;
    let builder = builder.with_layer(&GuardLayer {
        limit: opts.response_limit,
        liveness: liveness.clone(),
    });
    let client = match exec {
        Some(auth) => builder.with_layer(&ExecAuthLayer(auth)).build(),
        None => builder.build(),
    };
    let version = match tokio::time::timeout(VERSION_TIMEOUT, client.apiserver_version()).await {
        Err(_) => {
            return Err(ConnectError::Unreachable {
                context,
                server,
                cause: format!(
                    "no answer to GET /version within {} s",
                    VERSION_TIMEOUT.as_secs()
                ),
            });
        }
        Ok(Err(e)) => return Err(version_error(e, context, server)),
        Ok(Ok(v)) => v,
    };
    Ok(Connected {
        client,
        info: ContextInfo {
            context,
            server,
            namespace,
            server_version: Some(version.git_version),
            kube_user,
        },
        liveness,
    })
}

/// The user entry the context names (`contexts[].context.user`): who ktui acts as, as far as
/// the kubeconfig says.
fn user_of(kubeconfig: &Kubeconfig, context: &str) -> Option<String> {
    kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.user.clone())
        .filter(|u| !u.is_empty())
}

fn check_context(kubeconfig: &Kubeconfig, context: &str) -> Result<(), ConnectError> {
    if kubeconfig.contexts.iter().any(|c| c.name == context) {
        return Ok(());
    }
    let mut known: Vec<String> = kubeconfig
        .contexts
        .iter()
        .map(|c| sanitize::line(&c.name).into_owned())
        .collect();
    known.sort();
    Err(ConnectError::UnknownContext {
        context: context.to_string(),
        known: if known.is_empty() {
            "no contexts".to_string()
        } else {
            known.join(", ")
        },
    })
}

/// What a failed `GET /version` means.
fn version_error(e: kube::Error, context: String, server: String) -> ConnectError {
    if let Some(source) = find_in_chain::<ExecAuthError>(&e) {
        return ConnectError::Credentials {
            context,
            source: source.clone(),
        };
    }
    if let Some(big) = find_in_chain::<ResponseTooLarge>(&e) {
        return ConnectError::NotKubernetes {
            context,
            server,
            cause: big.to_string(),
        };
    }
    match e {
        kube::Error::Api(status) => match status.code {
            401 => ConnectError::Unauthorized { context, server },
            code => ConnectError::Api {
                context,
                server,
                code,
                message: cut_body(&status.message),
            },
        },
        kube::Error::SerdeError(e) => ConnectError::NotKubernetes {
            context,
            server,
            cause: format!(
                "its answer is not the JSON the API sends: {}",
                cut_body(&e.to_string())
            ),
        },
        other => ConnectError::Unreachable {
            context,
            server,
            cause: sanitize::line(&super::errors::chain(&other)).into_owned(),
        },
    }
}
