//! A fake Kubernetes API server for ktui's tests and benchmarks.
//!
//! [`FakeApiServer::start`] serves a [`Store`] over HTTPS on 127.0.0.1 (a
//! random port, a freshly generated CA, a bearer token) speaking enough of the
//! kube-apiserver wire format for `kube::Client` and `kube::runtime::watcher`:
//! paged lists with continue tokens, watches with history replay, bookmarks,
//! 410 Expired and streaming lists (`sendInitialEvents`), pod logs (including
//! `follow`), discovery, and kube-apiserver-shaped Status errors. The store
//! can be changed while the server runs, and faults injected (403s, 401s,
//! latency, dropped watches, compaction).
//!
//! Writes: create (`POST`, `generateName` too), replace (`PUT`), server-side apply and merge
//! patches (`PATCH`, 409 Conflict at a stale resourceVersion) and delete of the
//! served types (Namespaces, ServiceAccounts, Pods, Events, Leases, ...), with namespace,
//! ServiceAccount and Pod Security admission (and policy-webhook refusals injected with
//! [`Store::deny_admission`]); a simulated kubelet starts pods
//! created through the API on existing Nodes ([`Kubelet`]). Pod exec over
//! WebSocket runs a real local process ([`Store::map_exec`]). The kubelet checkpoint API behind
//! the node proxy answers per node as configured ([`Store::set_checkpoint_kubelet`]). Optional
//! APIs (`snapshot.storage.k8s.io/v1`) are discovered and served only when switched on
//! ([`Store::serve_snapshots`]).

mod access;
mod body;
mod checkpoint;
mod discovery;
mod events;
mod exec;
mod generate;
mod kubelet;
mod logs;
mod psa;
mod resources;
mod routes;
mod selector;
mod status;
mod store;
mod tls;
mod util;
mod watch;
mod write;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch as tokio_watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use checkpoint::{CheckpointKubelet, KubeletCheckpoint};
pub use generate::{PODS_PER_DEPLOYMENT, populate_cluster};
pub use routes::RequestRecord;
pub use status::FORBIDDEN_USER;
pub use store::{
    ApplyError, Canned, DEFAULT_BOOKMARK_INTERVAL, DEFAULT_HISTORY_LIMIT, Kubelet, Store,
};

use routes::ServerState;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running fake API server. Shuts down (closing every connection and
/// stream) when dropped.
pub struct FakeApiServer {
    state: Arc<ServerState>,
    ca_pem: String,
    shutdown: tokio_watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FakeApiServer {
    /// Binds 127.0.0.1 on a random port and starts serving `store`. Must be
    /// called within a Tokio runtime; the server runs on that runtime.
    pub async fn start(store: Store) -> io::Result<FakeApiServer> {
        let tls = tls::generate()?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = tokio_watch::channel(false);
        let state = Arc::new(ServerState {
            store,
            token: generate_token(),
            addr,
            requests: Mutex::new(Vec::new()),
            shutdown: shutdown_rx.clone(),
        });
        let acceptor = TlsAcceptor::from(tls.server_config);
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            Arc::clone(&state),
            shutdown_rx,
        ));
        Ok(FakeApiServer {
            state,
            ca_pem: tls.ca_pem,
            shutdown,
            task,
        })
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.state.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.state.addr
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The bearer token every request must carry.
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// A kubeconfig with one cluster (`certificate-authority-data` = the CA),
    /// one token user and one context `fake` (namespace `default`), which is
    /// the current context.
    pub fn kubeconfig_yaml(&self) -> String {
        let ca = STANDARD.encode(self.ca_pem.as_bytes());
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: fake\n  \
               cluster:\n    \
                 server: {url}\n    \
                 certificate-authority-data: {ca}\n\
             users:\n\
             - name: fake\n  \
               user:\n    \
                 token: {token}\n\
             contexts:\n\
             - name: fake\n  \
               context:\n    \
                 cluster: fake\n    \
                 user: fake\n    \
                 namespace: default\n\
             current-context: fake\n\
             preferences: {{}}\n",
            url = self.url(),
            token = self.token(),
        )
    }

    /// Writes [`FakeApiServer::kubeconfig_yaml`] to `dir/kubeconfig`.
    pub fn write_kubeconfig(&self, dir: &Path) -> io::Result<PathBuf> {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, self.kubeconfig_yaml())?;
        Ok(path)
    }

    /// A handle on the served store, to change it while the server runs.
    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        // Streams watch this flag; the accept loop owns the connections.
        self.shutdown.send_replace(true);
        self.task.abort();
    }
}

/// A token unique enough for a test run (not a secret).
fn generate_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let a = h.finish();
    h.write_u64(a);
    format!("fake-{:016x}{:016x}", a, h.finish())
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<ServerState>,
    mut shutdown: tokio_watch::Receiver<bool>,
) {
    // Dropping the set (when this task ends or is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                while connections.try_join_next().is_some() {}
                let Ok((tcp, _)) = accepted else {
                    continue;
                };
                // Latency matters more than throughput for watch events.
                let _ = tcp.set_nodelay(true);
                connections.spawn(serve_connection(tcp, acceptor.clone(), Arc::clone(&state)));
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    state: Arc<ServerState>,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
        return;
    };
    let reset = Arc::new(Notify::new());
    let handle = Arc::clone(&reset);
    let service =
        service_fn(move |req| routes::handle(Arc::clone(&state), Arc::clone(&handle), req));
    // Upgrades serve pod exec (WebSocket); the upgraded connection leaves this task.
    let mut conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .with_upgrades();
    let reset_requested = tokio::select! {
        // Errors here are client disconnects or failed bodies.
        _ = &mut conn => false,
        () = reset.notified() => true,
    };
    if reset_requested && let Some(parts) = conn.into_parts() {
        // Close with SO_LINGER 0: the peer gets a RST, not a clean FIN or a
        // TLS close_notify.
        let (tcp, _) = parts.io.into_inner().into_inner();
        let _ = tcp.set_zero_linger();
    }
}
