//! Controller mode (`KTUI_CONTROLLER=1`, with the downward API's `POD_NAME` and
//! `POD_NAMESPACE`: what `ktui record manifest` sets): only the holder of the `ktui-controller`
//! Lease in the controller's namespace records and acts on annotations. A replica waits for the
//! Lease before it opens its case or watches anything, renews it every few seconds while it
//! runs (each try bounded; lost when no renewal succeeded within two thirds of the lease's
//! duration, before another replica may take it), finishes its run (summary, bundle) when it
//! lost it, and releases it at the end so the next one starts at once. A new holder does not clone again what the
//! last one cloned: the clone flow finds the clone of a crash in the cluster.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use super::lease::{self, Held, LeaseConfig};
use crate::cluster::{Cluster, ClusterError};

/// The Lease's name.
pub const LEASE_NAME: &str = "ktui-controller";
/// `leaseDurationSeconds` (client-go's default); `KTUI_LEASE_SECONDS` overrides it (tests).
pub const LEASE_SECONDS: u64 = 15;

/// The Lease of this replica, when it runs as the controller (`POD_NAME` and `POD_NAMESPACE`
/// both set).
pub fn config_from_env() -> Option<LeaseConfig> {
    let var = |k| std::env::var(k).ok().filter(|v| !v.is_empty());
    if var("KTUI_CONTROLLER").as_deref() != Some("1") {
        return None;
    }
    let seconds = var("KTUI_LEASE_SECONDS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(LEASE_SECONDS)
        .max(1);
    Some(LeaseConfig {
        namespace: var("POD_NAMESPACE")?,
        name: LEASE_NAME.to_string(),
        identity: var("POD_NAME")?,
        duration: Duration::from_secs(seconds),
    })
}

/// How often the holder renews, and a waiting replica tries.
fn retry(cfg: &LeaseConfig) -> Duration {
    (cfg.duration / 5).max(Duration::from_millis(500))
}

/// Wait until this replica holds the Lease. `Err(code)`: stopped while waiting (0, by a
/// signal), or the Lease cannot be read at all (1, said).
pub async fn wait(cluster: &dyn Cluster, cfg: &LeaseConfig, say: &dyn Fn(&str)) -> Result<(), u8> {
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            say(&format!("cannot install the signal handlers: {e}"));
            return Err(1);
        }
    };
    let mut said: Option<String> = None;
    loop {
        match attempt(cluster, cfg).await {
            Ok(held) if held.is_leader() => {
                say(&format!(
                    "holding the Lease {}/{} as {}",
                    cfg.namespace, cfg.name, cfg.identity
                ));
                return Ok(());
            }
            Ok(Held::HeldBy { holder, .. }) => {
                if said.as_deref() != Some(holder.as_str()) {
                    say(&format!(
                        "waiting: the Lease {}/{} is held by {holder} (this replica takes over when it lapses)",
                        cfg.namespace, cfg.name
                    ));
                    said = Some(holder);
                }
            }
            Ok(_) => {}
            Err(e @ ClusterError::Forbidden { .. }) => {
                say(&format!(
                    "the Lease {}/{}: {e} (the controller's role needs get, create and update on leases there)",
                    cfg.namespace, cfg.name
                ));
                return Err(1);
            }
            Err(e) => {
                let text = format!("the Lease {}/{}: {e}", cfg.namespace, cfg.name);
                if said.as_deref() != Some(text.as_str()) {
                    say(&text);
                    said = Some(text);
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(retry(cfg)) => {}
            _ = sigint.recv() => return Err(0),
            _ = sigterm.recv() => return Err(0),
        }
    }
}

/// Renew the Lease while the run goes on; the receiver turns true when another replica holds
/// it (or no renewal succeeded for a whole lease duration). Dropping the handle stops it.
pub fn keep(cluster: std::sync::Arc<dyn Cluster>, cfg: LeaseConfig) -> Keeper {
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut last_ok = tokio::time::Instant::now();
        let deadline = cfg.duration * 2 / 3;
        loop {
            tokio::time::sleep(retry(&cfg)).await;
            match attempt(cluster.as_ref(), &cfg).await {
                Ok(held) if held.is_leader() => last_ok = tokio::time::Instant::now(),
                Ok(_) => {
                    let _ = tx.send(true);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "cannot renew the Lease"),
            }
            if last_ok.elapsed() >= deadline {
                let _ = tx.send(true);
                return;
            }
        }
    })
    .abort_handle();
    Keeper { lost: rx, task }
}

/// One try, bounded by the retry interval (a hung API call must not hide a lost Lease).
async fn attempt(cluster: &dyn Cluster, cfg: &LeaseConfig) -> Result<Held, ClusterError> {
    let bound = retry(cfg);
    tokio::time::timeout(
        bound,
        lease::try_acquire_or_renew(cluster, cfg, jiff::Timestamp::now()),
    )
    .await
    .unwrap_or_else(|_| {
        Err(ClusterError::Unreachable {
            server: cluster.info().server,
            cause: format!(
                "no answer about the Lease {}/{} within {} ms",
                cfg.namespace,
                cfg.name,
                bound.as_millis()
            ),
        })
    })
}

pub struct Keeper {
    pub lost: watch::Receiver<bool>,
    task: tokio::task::AbortHandle,
}

impl Keeper {
    /// Stop renewing and hand the Lease over (the next replica starts at once).
    pub async fn release(self, cluster: &dyn Cluster, cfg: &LeaseConfig) {
        self.task.abort();
        if let Err(e) = lease::release(cluster, cfg).await {
            tracing::warn!(error = %e, "cannot release the Lease");
        }
    }
}
