//! Leader election over a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection` does
//! it: with more than one controller replica only the Lease's holder acts; the others wait
//! until it stops renewing (or hands the Lease over at a clean shutdown).
//!
//! Every write is at the resourceVersion just read, so two replicas racing for the same Lease
//! cannot both win: the loser's write gets 409 and it reads who won.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::cluster::{Cluster, ClusterError, ObjectRef};

/// The Lease's API version and kind.
pub const LEASE_API_VERSION: &str = "coordination.k8s.io/v1";
pub const LEASE_KIND: &str = "Lease";

/// Which Lease, who we are, and how long a holder's claim lasts without a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (`holderIdentity`): its pod name, say. Never empty.
    pub identity: String,
    /// `leaseDurationSeconds` (whole seconds, at least 1).
    pub duration: Duration,
}

impl LeaseConfig {
    fn object(&self) -> ObjectRef {
        ObjectRef::new(
            LEASE_API_VERSION,
            LEASE_KIND,
            Some(&self.namespace),
            self.name.clone(),
        )
    }

    fn duration_seconds(&self) -> i64 {
        i64::try_from(self.duration.as_secs())
            .unwrap_or(i64::MAX)
            .max(1)
    }
}

/// Who holds the Lease after a try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// We hold it now and did not before (created, taken over from an expired or released
    /// holder).
    Acquired,
    /// We held it and renewed it.
    Renewed,
    /// Someone else holds it, until `until` unless they renew.
    HeldBy { holder: String, until: Timestamp },
}

impl Held {
    /// Whether we hold the Lease (and may act).
    pub fn is_leader(&self) -> bool {
        matches!(self, Held::Acquired | Held::Renewed)
    }
}

/// A Kubernetes MicroTime: RFC 3339 in UTC with exactly 6 fractional digits.
pub fn micro_time(t: Timestamp) -> String {
    let micros = t.subsec_microsecond().max(0);
    format!("{}.{micros:06}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// The Lease's spec as client-go reads it.
struct Record {
    holder: String,
    duration: i64,
    renewed: Option<Timestamp>,
    acquired: Option<Value>,
    transitions: i64,
}

impl Record {
    fn of(lease: &Value) -> Self {
        let spec = lease.get("spec");
        let text = |k: &str| spec.and_then(|s| s.get(k)).and_then(Value::as_str);
        let int = |k: &str| spec.and_then(|s| s.get(k)).and_then(Value::as_i64);
        Record {
            holder: text("holderIdentity").unwrap_or_default().to_string(),
            duration: int("leaseDurationSeconds").unwrap_or(0),
            renewed: text("renewTime")
                .or_else(|| text("acquireTime"))
                .and_then(|t| t.parse().ok()),
            acquired: spec.and_then(|s| s.get("acquireTime")).cloned(),
            transitions: int("leaseTransitions").unwrap_or(0),
        }
    }

    /// When the holder's claim runs out (renewTime + leaseDurationSeconds); `None` when it
    /// never renewed.
    fn until(&self) -> Option<Timestamp> {
        self.renewed.and_then(|r| {
            r.checked_add(jiff::SignedDuration::from_secs(self.duration))
                .ok()
        })
    }

    fn held_by(&self) -> Held {
        Held::HeldBy {
            holder: self.holder.clone(),
            until: self.until().unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }
}

/// The Lease with our claim in it, at the resourceVersion `lease` was read at.
fn claimed(lease: &Value, spec: Value) -> Value {
    let mut next = lease.clone();
    next["spec"] = spec;
    next
}

/// Try to become (or stay) the Lease's holder at `now`: create the Lease when there is none,
/// renew it when we hold it, take it over when its holder let it expire (`renewTime` +
/// `leaseDurationSeconds` before `now`) or released it, else report who holds it. A lost race
/// (409 on create or replace) reads the Lease again and reports its winner.
pub async fn try_acquire_or_renew(
    cluster: &dyn Cluster,
    cfg: &LeaseConfig,
    now: Timestamp,
) -> Result<Held, ClusterError> {
    if cfg.identity.is_empty() {
        // An empty identity would read a released Lease as its own.
        return Err(ClusterError::InvalidObject {
            verb: "acquire".to_string(),
            object: cfg.object().to_string(),
            cause: "the controller's identity (holderIdentity) is empty: give each replica its pod name".to_string(),
        });
    }
    let stamp = micro_time(now);
    let lease = match cluster.get_json(cfg.object()).await {
        Ok(lease) => lease,
        Err(ClusterError::NotFound { .. }) => {
            let lease = json!({
                "apiVersion": LEASE_API_VERSION,
                "kind": LEASE_KIND,
                "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                "spec": {
                    "holderIdentity": cfg.identity,
                    "leaseDurationSeconds": cfg.duration_seconds(),
                    "acquireTime": stamp,
                    "renewTime": stamp,
                    "leaseTransitions": 0,
                },
            });
            return if cluster.create(lease).await? {
                Ok(Held::Acquired)
            } else {
                winner(cluster, cfg).await
            };
        }
        Err(e) => return Err(e),
    };
    let record = Record::of(&lease);
    let ours = record.holder == cfg.identity;
    let expired = record.until().is_none_or(|until| until < now);
    if !ours && !record.holder.is_empty() && !expired {
        return Ok(record.held_by());
    }
    let spec = if ours {
        json!({
            "holderIdentity": cfg.identity,
            "leaseDurationSeconds": cfg.duration_seconds(),
            "acquireTime": record.acquired.clone().unwrap_or_else(|| stamp.clone().into()),
            "renewTime": stamp,
            "leaseTransitions": record.transitions,
        })
    } else {
        json!({
            "holderIdentity": cfg.identity,
            "leaseDurationSeconds": cfg.duration_seconds(),
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": record.transitions.saturating_add(1),
        })
    };
    if !cluster.replace(claimed(&lease, spec)).await? {
        return winner(cluster, cfg).await;
    }
    Ok(if ours { Held::Renewed } else { Held::Acquired })
}

/// Who holds the Lease after we lost a race for it.
async fn winner(cluster: &dyn Cluster, cfg: &LeaseConfig) -> Result<Held, ClusterError> {
    let lease = cluster.get_json(cfg.object()).await?;
    Ok(Record::of(&lease).held_by())
}

/// How often [`release`] tries again when the Lease changes under it.
const RELEASE_ATTEMPTS: usize = 3;

/// Hand the Lease over at a clean shutdown: when we hold it, clear `holderIdentity` (and make
/// the claim 1 s long, as client-go does) so another replica takes over at its next try
/// instead of waiting the lease duration out. Nothing is written when someone else holds it,
/// or there is no Lease.
pub async fn release(cluster: &dyn Cluster, cfg: &LeaseConfig) -> Result<(), ClusterError> {
    for _ in 0..RELEASE_ATTEMPTS {
        let lease = match cluster.get_json(cfg.object()).await {
            Ok(lease) => lease,
            Err(ClusterError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let record = Record::of(&lease);
        if record.holder != cfg.identity {
            return Ok(());
        }
        let stamp = micro_time(Timestamp::now());
        let spec = json!({
            "leaseDurationSeconds": 1,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": record.transitions,
        });
        if cluster.replace(claimed(&lease, spec)).await? {
            return Ok(());
        }
    }
    Err(ClusterError::Conflict {
        what: format!("{}", cfg.object()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;

    fn cfg(identity: &str) -> LeaseConfig {
        LeaseConfig {
            namespace: "ktui-system".into(),
            name: "ktui-controller".into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
        }
    }

    fn at(secs: i64) -> Timestamp {
        DemoCluster::fixed_epoch() + jiff::SignedDuration::from_secs(secs)
    }

    #[test]
    fn micro_time_has_six_digits() {
        let t: Timestamp = "2024-05-01T12:00:03.1234567Z".parse().unwrap();
        assert_eq!(micro_time(t), "2024-05-01T12:00:03.123456Z");
        let t: Timestamp = "2024-05-01T12:00:03Z".parse().unwrap();
        assert_eq!(micro_time(t), "2024-05-01T12:00:03.000000Z");
    }

    /// The in-memory demo Lease follows the same rules as the API server's.
    #[tokio::test]
    async fn one_holder_renews_expires_and_hands_over() {
        let demo = DemoCluster::fixed();
        let (a, b) = (cfg("a"), cfg("b"));
        assert_eq!(
            try_acquire_or_renew(&demo, &a, at(0)).await,
            Ok(Held::Acquired)
        );
        assert_eq!(
            try_acquire_or_renew(&demo, &b, at(1)).await,
            Ok(Held::HeldBy {
                holder: "a".into(),
                until: "2026-11-20T10:00:15Z".parse().unwrap(),
            })
        );
        assert_eq!(
            try_acquire_or_renew(&demo, &a, at(10)).await,
            Ok(Held::Renewed)
        );
        // 24 s: a renewed at 10, so its claim holds until 25.
        assert!(
            !try_acquire_or_renew(&demo, &b, at(24))
                .await
                .unwrap()
                .is_leader()
        );
        assert_eq!(
            try_acquire_or_renew(&demo, &b, at(26)).await,
            Ok(Held::Acquired)
        );
        let lease = demo.get_json(b.object()).await.unwrap();
        assert_eq!(lease["spec"]["leaseTransitions"], 1);
        assert_eq!(lease["spec"]["holderIdentity"], "b");
        release(&demo, &a).await.unwrap();
        assert_eq!(
            demo.get_json(b.object()).await.unwrap()["spec"]["holderIdentity"],
            "b"
        );
        release(&demo, &b).await.unwrap();
        assert_eq!(
            try_acquire_or_renew(&demo, &a, at(27)).await,
            Ok(Held::Acquired)
        );
        let lease = demo.get_json(a.object()).await.unwrap();
        assert_eq!(lease["spec"]["leaseTransitions"], 2);
    }

    #[tokio::test]
    async fn an_empty_identity_is_refused() {
        let err = try_acquire_or_renew(&DemoCluster::fixed(), &cfg(""), at(0))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("identity"), "{err}");
    }

    /// A write at a stale resourceVersion (someone renewed meanwhile) reports the winner.
    #[tokio::test]
    async fn a_lost_race_reads_the_winner() {
        let demo = DemoCluster::fixed();
        let (a, b) = (cfg("a"), cfg("b"));
        try_acquire_or_renew(&demo, &a, at(0)).await.unwrap();
        let stale = demo.get_json(a.object()).await.unwrap();
        try_acquire_or_renew(&demo, &a, at(5)).await.unwrap();
        // b read the Lease before a's renewal, and writes its takeover at that version.
        let mut takeover = stale.clone();
        takeover["spec"]["holderIdentity"] = "b".into();
        assert_eq!(demo.replace(takeover).await, Ok(false));
        assert!(matches!(
            winner(&demo, &b).await,
            Ok(Held::HeldBy { holder, .. }) if holder == "a"
        ));
    }
}
