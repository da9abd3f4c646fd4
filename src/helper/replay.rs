//! `--demo` without `--helper local`: replays a bundled recording of real events (made with
//! `ktui-helper trace`, see helper-image/recordings/README.md), labelled DEMO REPLAY. Timestamps
//! are shifted to the replay's clock so live summaries (stuck SYNs, DNS suspects) stay coherent,
//! and the recorded pods are cast onto the demo cluster's pods ([`Cast`]).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ktui_wire::{Hello, K8sRef, ProbeStatus, SocketEvent};

use crate::cluster::PodSummary;

/// The bundled recording: one `ktui-helper trace` line per event.
pub const RECORDING: &str = include_str!("../../helper-image/recordings/demo-sockets.jsonl");

/// What the recording was made with (helper-image/recordings/README.md says the same): the
/// helper of the workspace version, every one of its probes attached on a tracepoint.
pub const RECORDED_HELPER: &str = "0.1.0";
pub const RECORDED_KERNEL: &str = "6.18";
pub const RECORDED_PROBES: &[&str] = &[
    "tcp_state",
    "tcp_retransmit",
    "tcp_reset",
    "connect",
    "attribution",
    "udp_send",
    "udp_recv",
    "dns",
    "drop",
    "conntrack",
];

/// Events with their offset from the first one.
pub fn parse(recording: &str) -> Vec<(Duration, SocketEvent)> {
    let events: Vec<SocketEvent> = recording
        .lines()
        .filter_map(|l| serde_json::from_str::<SocketEvent>(l).ok())
        .collect();
    let start = events
        .iter()
        .filter_map(|e| e.ts.parse::<Timestamp>().ok())
        .min();
    events
        .into_iter()
        .map(|e| {
            let offset = match (start, e.ts.parse::<Timestamp>()) {
                (Some(s), Ok(t)) => t.duration_since(s).unsigned_abs(),
                _ => Duration::ZERO,
            };
            (offset, e)
        })
        .collect()
}

/// The event as if it happened `offset` after `start`.
pub fn shifted(mut e: SocketEvent, start: Timestamp, offset: Duration) -> SocketEvent {
    let at = start + SignedDuration::try_from(offset).unwrap_or(SignedDuration::ZERO);
    e.ts = at.strftime("%Y-%m-%dT%H:%M:%S.%9fZ").to_string();
    e
}

/// The hello a replay presents on `node`: the recording's helper, kernel and probes, and no
/// eBPF loaded here (nothing is traced live).
pub fn hello(node: Option<String>) -> Hello {
    Hello {
        protocol: ktui_wire::PROTOCOL_VERSION,
        helper_version: RECORDED_HELPER.to_string(),
        kernel: RECORDED_KERNEL.to_string(),
        node,
        probes: RECORDED_PROBES
            .iter()
            .map(|name| ProbeStatus {
                name: name.to_string(),
                attach: Some("tracepoint (when recorded)".to_string()),
                fallback: false,
                error: None,
            })
            .collect(),
        ebpf: false,
        ebpf_error: Some("demo replay: nothing is traced live".to_string()),
        missing_capabilities: Vec::new(),
        capture: false,
        checkpoint_dir: false,
        snapshot: false,
    }
}

/// The workload a recorded pod name belongs to by the Deployment convention
/// (`<workload>-<replicaset hash>-<pod hash>`).
fn workload_of(pod: &str) -> Option<&str> {
    let (rs, _) = pod.rsplit_once('-')?;
    let (workload, _) = rs.rsplit_once('-')?;
    (!workload.is_empty()).then_some(workload)
}

/// The recording cast onto the demo cluster: each recorded pod plays a demo pod of the same
/// namespace and workload — the pod under investigation when it is one of them, else one on
/// its node, else the first by name — and the recording's machine plays that pod's node. A
/// recorded pod without a counterpart keeps no pod identity (never a made-up one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cast {
    pub node: Option<String>,
    /// Recorded pod UID → the demo pod it plays.
    roles: Vec<(String, K8sRef)>,
}

impl Cast {
    pub fn new(
        recording: &[(Duration, SocketEvent)],
        pods: &[PodSummary],
        on_uid: Option<&str>,
    ) -> Self {
        let mut recorded: Vec<&K8sRef> = Vec::new();
        for k in recording.iter().filter_map(|(_, e)| e.k8s.as_ref()) {
            if k.pod_uid.is_some() && !recorded.iter().any(|r| r.pod_uid == k.pod_uid) {
                recorded.push(k);
            }
        }
        let candidates = |r: &K8sRef| -> Vec<&PodSummary> {
            let mut c: Vec<&PodSummary> = pods
                .iter()
                .filter(|p| Some(p.key.namespace.as_str()) == r.namespace.as_deref())
                .filter(|p| {
                    Some(p.workload.name.as_str()) == r.pod.as_deref().and_then(workload_of)
                })
                .collect();
            c.sort_by(|a, b| a.key.name.cmp(&b.key.name));
            c
        };
        let on = on_uid.and_then(|uid| pods.iter().find(|p| p.uid == uid));
        let node = on.and_then(|p| p.node.clone()).or_else(|| {
            recorded
                .iter()
                .find_map(|r| candidates(r).first().and_then(|p| p.node.clone()))
        });
        let roles = recorded
            .iter()
            .filter_map(|r| {
                let c = candidates(r);
                let plays = c
                    .iter()
                    .find(|p| on.is_some_and(|on| on.uid == p.uid))
                    .or_else(|| c.iter().find(|p| p.node.is_some() && p.node == node))
                    .or_else(|| c.first())?;
                let container = plays
                    .containers
                    .iter()
                    .find(|c| Some(c.name.as_str()) == r.container.as_deref())
                    .or_else(|| plays.containers.iter().find(|c| !c.role.is_init()))
                    .map(|c| c.name.clone());
                let uid = r.pod_uid.clone()?;
                Some((
                    uid,
                    K8sRef {
                        namespace: Some(plays.key.namespace.clone()),
                        pod: Some(plays.key.name.clone()),
                        container,
                        pod_uid: Some(plays.uid.clone()),
                        // The recorded runtime id (the demo pods have none of their own).
                        container_id: r.container_id.clone(),
                    },
                ))
            })
            .collect();
        Self { node, roles }
    }

    /// The event with the demo pod in place of the recorded one.
    pub fn apply(&self, mut e: SocketEvent) -> SocketEvent {
        if let Some(k) = e.k8s.as_mut() {
            let role = self
                .roles
                .iter()
                .find(|(uid, _)| k.pod_uid.as_deref() == Some(uid.as_str()));
            match role {
                Some((_, plays)) => *k = plays.clone(),
                None => e.k8s = None,
            }
        }
        e
    }

    pub fn hello(&self) -> Hello {
        hello(self.node.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;

    fn demo_pods() -> Vec<PodSummary> {
        DemoCluster::fixed()
            .pods()
            .iter()
            .map(|p| p.detail.summary.clone())
            .collect()
    }

    fn pod<'a>(pods: &'a [PodSummary], name: &str) -> &'a PodSummary {
        pods.iter().find(|p| p.key.name == name).unwrap()
    }

    #[test]
    fn bundled_recording_is_real_trace_output() {
        let events = parse(RECORDING);
        assert!(events.len() >= 50, "recording has {} events", events.len());
        // Every line parses: nothing in the file is anything but trace output.
        assert_eq!(
            events.len(),
            RECORDING.lines().filter(|l| !l.trim().is_empty()).count()
        );
        assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn shifting_keeps_nanosecond_format() {
        let (offset, e) = parse(RECORDING).remove(0);
        let e = shifted(
            e,
            Timestamp::UNIX_EPOCH,
            offset + Duration::from_millis(1500),
        );
        assert_eq!(e.ts, "1970-01-01T00:00:01.500000000Z");
    }

    #[test]
    fn every_recorded_pod_plays_a_demo_pod_of_its_namespace_and_workload() {
        let recording = parse(RECORDING);
        let pods = demo_pods();
        let on = pod(&pods, "checkout-6c9f8b7d54-7fb9x");
        let cast = Cast::new(&recording, &pods, Some(&on.uid));
        assert_eq!(cast.node.as_deref(), Some("demo-node-1"));
        let mut played = std::collections::BTreeSet::new();
        for (_, e) in &recording {
            let Some(recorded) = &e.k8s else { continue };
            let k = cast.apply(e.clone()).k8s.unwrap();
            let demo = pod(&pods, k.pod.as_deref().unwrap());
            assert_eq!(k.pod_uid.as_ref(), Some(&demo.uid));
            assert_eq!(k.namespace, recorded.namespace);
            assert_eq!(
                Some(demo.workload.name.as_str()),
                workload_of(recorded.pod.as_deref().unwrap())
            );
            assert!(demo.container(k.container.as_deref().unwrap()).is_some());
            played.insert(demo.key.to_string());
        }
        assert_eq!(
            played.into_iter().collect::<Vec<_>>(),
            [
                "batch/report-uploader-6f8d9c7b5-7xk2d",
                "kube-system/coredns-5d78c9869d-l7tq2",
                "shop/cart-api-7c5d9f8b6-h3j4k",
                "shop/checkout-6c9f8b7d54-7fb9x",
            ]
        );
    }

    #[test]
    fn the_pod_under_investigation_plays_its_workload_on_its_node() {
        let recording = parse(RECORDING);
        let pods = demo_pods();
        let checkout = |cast: &Cast| {
            recording
                .iter()
                .find(|(_, e)| {
                    e.k8s.as_ref().and_then(|k| k.pod.as_deref())
                        == Some("checkout-5f7c9d8b6-q8wzt")
                })
                .and_then(|(_, e)| cast.apply(e.clone()).k8s)
                .and_then(|k| k.pod)
        };
        let k2 = pod(&pods, "checkout-6c9f8b7d54-k2mzq");
        let cast = Cast::new(&recording, &pods, Some(&k2.uid));
        assert_eq!(cast.node.as_deref(), Some("demo-node-2"));
        assert_eq!(
            checkout(&cast).as_deref(),
            Some("checkout-6c9f8b7d54-k2mzq")
        );
        // A pod the recording has nothing of: its node, checkout played by the replica there.
        let ledger = pod(&pods, "ledger-worker-5d8c7b6f4-tq9wn");
        let cast = Cast::new(&recording, &pods, Some(&ledger.uid));
        assert_eq!(cast.node.as_deref(), Some("demo-node-2"));
        assert_eq!(
            checkout(&cast).as_deref(),
            Some("checkout-6c9f8b7d54-k2mzq")
        );
        assert_eq!(cast.hello().node.as_deref(), Some("demo-node-2"));
    }

    #[test]
    fn a_recorded_pod_without_a_counterpart_is_left_unnamed() {
        let recording = parse(RECORDING);
        let pods: Vec<PodSummary> = demo_pods()
            .into_iter()
            .filter(|p| p.key.namespace != "batch")
            .collect();
        let cast = Cast::new(&recording, &pods, None);
        let uploader = recording
            .iter()
            .find(|(_, e)| e.k8s.as_ref().and_then(|k| k.namespace.as_deref()) == Some("batch"))
            .map(|(_, e)| cast.apply(e.clone()))
            .unwrap();
        assert_eq!(uploader.k8s, None);
        assert_eq!(uploader.comm.as_deref(), Some("uploader"));
    }

    #[test]
    fn the_recordings_readme_names_the_probes() {
        let readme = include_str!("../../helper-image/recordings/README.md");
        let count = format!("{0}/{0} probes", RECORDED_PROBES.len());
        assert!(readme.contains(&count), "README should say {count}");
        for probe in RECORDED_PROBES {
            assert!(readme.contains(&format!("`{probe}`")), "{probe}");
        }
        assert!(readme.contains(&format!("kernel {RECORDED_KERNEL}")));
    }
}
