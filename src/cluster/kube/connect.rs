//! Kubeconfig → `kube::Client`, checked with `GET /version` within a deadline.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cluster::ContextInfo;

/// How long the API server gets to answer `GET /version`.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to connect: the pinned `--kubeconfig`, `--context`, `-n` flags.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// Why no cluster could be reached; rendered on stderr before exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to context '{context}' (server {server}): {cause}\n{hint}")]
pub struct ConnectError {
    pub context: String,
    pub server: String,
    pub cause: String,
    pub hint: String,
}

const DEMO_HINT: &str = "hint: check the VPN/network and `kubectl --context <ctx> get --raw /version`; \
     to look around without a cluster, run `ktui --demo`";

impl ConnectError {
    fn new(context: &str, server: &str, cause: impl std::fmt::Display) -> Self {
        Self {
            context: context.to_string(),
            server: server.to_string(),
            cause: cause.to_string(),
            hint: DEMO_HINT.to_string(),
        }
    }
}

fn load_kubeconfig(opts: &ConnectOptions) -> Result<Kubeconfig, ConnectError> {
    let unknown = |cause: String| ConnectError::new("?", "?", cause);
    match &opts.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| unknown(format!("cannot read kubeconfig {}: {e}", path.display()))),
        None => Kubeconfig::read().map_err(|e| {
            let where_ = std::env::var("KUBECONFIG")
                .map(|v| format!("KUBECONFIG={v}"))
                .unwrap_or_else(|_| "~/.kube/config".to_string());
            unknown(format!("cannot read kubeconfig ({where_}): {e}"))
        }),
    }
}

/// Build a client for the selected context and check that the server answers.
pub async fn connect(opts: &ConnectOptions) -> Result<(Client, ContextInfo), ConnectError> {
    crate::tls::install_crypto_provider();
    let (config, context) = match load_kubeconfig(opts) {
        Ok(kubeconfig) => {
            let context = opts
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone())
                .unwrap_or_default();
            let server = server_of(&kubeconfig, &context);
            let options = KubeConfigOptions {
                context: opts.context.clone(),
                ..KubeConfigOptions::default()
            };
            let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| ConnectError::new(&context, &server, e))?;
            (config, context)
        }
        // Inside a pod with no kubeconfig: use the service account, like kubectl does.
        Err(err) if opts.kubeconfig.is_none() => match Config::incluster() {
            Ok(config) => (config, "in-cluster".to_string()),
            Err(_) => return Err(err),
        },
        Err(err) => return Err(err),
    };
    let server = config.cluster_url.to_string();
    let namespace = opts
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).map_err(|e| ConnectError::new(&context, &server, e))?;
    let version = match tokio::time::timeout(VERSION_TIMEOUT, client.apiserver_version()).await {
        Err(_) => {
            return Err(ConnectError::new(
                &context,
                &server,
                format!(
                    "no answer to GET /version within {} s",
                    VERSION_TIMEOUT.as_secs()
                ),
            ));
        }
        Ok(Err(e)) => return Err(ConnectError::new(&context, &server, describe(&e))),
        Ok(Ok(v)) => v,
    };
    Ok((
        client,
        ContextInfo {
            context,
            server,
            namespace,
            server_version: Some(version.git_version),
        },
    ))
}

fn server_of(kubeconfig: &Kubeconfig, context: &str) -> String {
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone());
    cluster
        .and_then(|name| kubeconfig.clusters.iter().find(|c| c.name == name))
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone())
        .unwrap_or_else(|| "?".to_string())
}

/// A one-line cause with the innermost error, e.g. the TLS verification failure.
fn describe(e: &kube::Error) -> String {
    if let kube::Error::Api(status) = e {
        return match status.code {
            401 => "credentials rejected (401 Unauthorized): log in again / refresh the token"
                .to_string(),
            403 => format!("forbidden (403): {}", status.message),
            code => format!("API error {code}: {}", status.message),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
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
