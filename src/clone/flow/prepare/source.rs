//! The crash a clone is about (the container and its signature, by the triage rules) and the
//! crashed container's previous log: from the case when it holds one captured after this
//! crash (its hash checked), else fetched now and written into the case.

use jiff::Timestamp;

use crate::case::{Case, IndexEntry};
use crate::clone::CapturedLog;
use crate::clone::flow::CloneError;
use crate::cluster::{Cluster, ClusterError, ContainerRole, LogRequest, PodKey, PodSummary};
use crate::evidence::CaptureError;
use crate::triage::{self, Category};

/// The container the clone is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Crash {
    pub container: String,
    pub signature: String,
    /// When the crash being cloned ended (a log captured before it is an older crash's).
    pub finished_at: Option<Timestamp>,
}

/// Read the pod's summary (owners resolved, as triage sees it) and pick the crash.
pub(super) async fn crash(
    cluster: &dyn Cluster,
    key: &PodKey,
    wanted: Option<&str>,
) -> Result<Crash, CloneError> {
    let detail = cluster
        .pod_detail(key.clone())
        .await
        .map_err(|cause| CloneError::read(format!("pod {key}"), cause))?;
    pick(&detail.summary, wanted)
}

/// `wanted`, or the newest crash (crashed before not started, an evicted pod's first main
/// container); a container named but not crashed is cloned with its signature as if exit
/// code were unknown.
pub(super) fn pick(pod: &PodSummary, wanted: Option<&str>) -> Result<Crash, CloneError> {
    let containers: Vec<String> = pod
        .containers
        .iter()
        .filter(|c| c.role != ContainerRole::Ephemeral)
        .map(|c| c.name.clone())
        .collect();
    let mut records = triage::classify(pod);
    triage::sort_newest_first(&mut records);
    if let Some(name) = wanted {
        if !containers.iter().any(|c| c == name) {
            return Err(CloneError::NoSuchContainer {
                pod: pod.key.clone(),
                container: name.to_string(),
                containers,
            });
        }
        return Ok(
            match records
                .iter()
                .find(|r| r.container.as_deref() == Some(name))
            {
                Some(r) => Crash {
                    container: name.to_string(),
                    signature: r.signature.clone(),
                    finished_at: r.finished_at,
                },
                None => Crash {
                    container: name.to_string(),
                    signature: triage::signature(
                        &pod.key.namespace,
                        &pod.workload,
                        Some(name),
                        None,
                    ),
                    finished_at: None,
                },
            },
        );
    }
    let first_main = pod
        .containers
        .iter()
        .find(|c| c.role == ContainerRole::Main)
        .map(|c| c.name.clone());
    for category in [Category::Crashed, Category::NotStarted, Category::Evicted] {
        let Some(r) = records.iter().find(|r| r.category == category) else {
            continue;
        };
        let Some(container) = r.container.clone().or_else(|| first_main.clone()) else {
            continue;
        };
        return Ok(Crash {
            container,
            signature: r.signature.clone(),
            finished_at: r.finished_at,
        });
    }
    Err(CloneError::NotCrashed {
        pod: pod.key.clone(),
        containers,
    })
}

/// The previous log of the crashed container. A log that cannot be had is a warning (the
/// ConfigMap then says why); only an unreachable API server is an error.
pub(super) async fn previous_log(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    key: &PodKey,
    crash: &Crash,
    warnings: &mut Vec<String>,
) -> Result<Option<CapturedLog>, CloneError> {
    if let Some(case) = case
        && let Some(log) = from_case(case, key, crash, warnings).await
    {
        return Ok(Some(log));
    }
    let req = LogRequest {
        pod: key.clone(),
        container: crash.container.clone(),
        previous: true,
        tail_lines: None,
    };
    let captured_at = Timestamp::now();
    let bytes = match cluster.logs(req).await {
        Ok(b) => b,
        Err(cause @ ClusterError::Unreachable { .. }) => {
            return Err(CloneError::read(
                format!(
                    "the previous log of container {} of pod {key}",
                    crash.container
                ),
                cause,
            ));
        }
        Err(e) => {
            warnings.push(format!(
                "no previous log of container {} could be read ({e}): the log ConfigMap says so",
                crash.container
            ));
            return Ok(None);
        }
    };
    let sha256 = crate::case::custody::sha256_hex(&bytes);
    let case_path = match case {
        Some(case) => match keep(case, key, crash, bytes.clone()).await {
            Ok(entry) => Some(entry.path),
            Err(e) => {
                warnings.push(format!(
                    "the previous log could not be written into case {} ({e}): only the log \
                     ConfigMap holds it",
                    case.id()
                ));
                None
            }
        },
        None => None,
    };
    Ok(Some(CapturedLog {
        container: crash.container.clone(),
        bytes,
        sha256,
        captured_at,
        case_path,
    }))
}

/// Write the log into the case as `capture_logs` does.
async fn keep(
    case: &Case,
    key: &PodKey,
    crash: &Crash,
    bytes: Vec<u8>,
) -> Result<IndexEntry, CaptureError> {
    let meta = crate::runtime::keep::logs(key, &crash.container, true, Some(&crash.signature))?;
    let case = case.clone();
    tokio::task::spawn_blocking(move || case.write_artifact(&meta, &bytes))
        .await
        .map_err(|e| CaptureError::Interrupted(e.to_string()))?
        .map_err(CaptureError::from)
}

/// The newest previous log of the container the case holds, captured after the crash ended;
/// its bytes checked against the index's SHA-256.
async fn from_case(
    case: &Case,
    key: &PodKey,
    crash: &Crash,
    warnings: &mut Vec<String>,
) -> Option<CapturedLog> {
    let entries = case.index().ok()?;
    let entry = newest_previous_log(&entries, key, crash)?.clone();
    let path = case.dir().join(&entry.path);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .ok()?
        .ok()?;
    let sha256 = crate::case::custody::sha256_hex(&bytes);
    if entry.sha256.as_deref() != Some(sha256.as_str()) {
        warnings.push(format!(
            "{} in case {} does not match its recorded SHA-256: not used, the log is fetched \
             again",
            entry.path,
            case.id()
        ));
        return None;
    }
    Some(CapturedLog {
        container: crash.container.clone(),
        bytes,
        sha256,
        captured_at: entry.captured_at,
        case_path: Some(entry.path),
    })
}

/// `artifacts/<ns>/<pod>/logs/<c>.previous.log` (or a numbered later capture of it).
fn newest_previous_log<'a>(
    entries: &'a [IndexEntry],
    key: &PodKey,
    crash: &Crash,
) -> Option<&'a IndexEntry> {
    let pod = key.to_string();
    let stem = format!(
        "artifacts/{}/{}/logs/{}.previous",
        key.namespace, key.name, crash.container
    );
    entries
        .iter()
        .filter(|e| e.sealed && e.sha256.is_some())
        .filter(|e| e.pod.as_deref() == Some(pod.as_str()))
        .filter(|e| e.container.as_deref() == Some(crash.container.as_str()))
        .filter(|e| {
            e.path
                .strip_prefix(&stem)
                .and_then(|rest| rest.strip_suffix(".log"))
                .is_some_and(|n| {
                    n.is_empty()
                        || n.strip_prefix('-')
                            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                })
        })
        .filter(|e| crash.finished_at.is_none_or(|t| e.captured_at >= t))
        .max_by_key(|e| e.captured_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;

    fn entry(path: &str, at: &str) -> IndexEntry {
        IndexEntry {
            path: path.to_string(),
            sha256: Some("00".into()),
            size: 1,
            media_type: "text/plain".into(),
            captured_at: at.parse().unwrap(),
            source: "x".into(),
            pod: Some("shop/web".into()),
            container: Some("app".into()),
            crash_signature: None,
            sealed: true,
        }
    }

    #[test]
    fn the_newest_log_captured_after_the_crash_is_taken() {
        let key = PodKey::new("shop", "web");
        let crash = Crash {
            container: "app".into(),
            signature: "s".into(),
            finished_at: Some("2026-11-20T10:00:00Z".parse().unwrap()),
        };
        let entries = vec![
            entry(
                "artifacts/shop/web/logs/app.previous.log",
                "2026-11-20T09:00:00Z",
            ),
            entry(
                "artifacts/shop/web/logs/app.previous-2.log",
                "2026-11-20T10:05:00Z",
            ),
            entry(
                "artifacts/shop/web/logs/app.previous-3.log",
                "2026-11-20T10:01:00Z",
            ),
            entry("artifacts/shop/web/logs/app.log", "2026-11-20T10:09:00Z"),
            entry(
                "artifacts/shop/web/logs/app.previous-x.log",
                "2026-11-20T10:09:00Z",
            ),
        ];
        let found = newest_previous_log(&entries, &key, &crash).unwrap();
        assert_eq!(found.path, "artifacts/shop/web/logs/app.previous-2.log");
        let older = Crash {
            finished_at: Some("2026-11-20T11:00:00Z".parse().unwrap()),
            ..crash
        };
        assert!(newest_previous_log(&entries, &key, &older).is_none());
    }

    #[tokio::test]
    async fn the_newest_crash_of_a_demo_pod_is_picked() {
        let demo = DemoCluster::new(Timestamp::now(), false);
        let key = PodKey::new("shop", "checkout-6c9f8b7d54-7fb9x");
        let crash = super::crash(&demo, &key, None).await.unwrap();
        assert_eq!(crash.container, "checkout");
        let pod = demo.pod_detail(key.clone()).await.unwrap().summary;
        let records = triage::classify(&pod);
        assert_eq!(crash.signature, records[0].signature);
        let err = super::crash(&demo, &key, Some("nope")).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("has no container nope (it has containers checkout)"),
            "{err}"
        );
    }
}
