//! The demo cluster's contents: a small shop with the usual ways of failing.

use jiff::{SignedDuration, Timestamp};

use super::DemoPod;
use crate::cluster::{
    ContainerRole, ContainerSpecDetail, ContainerState, ContainerSummary, EnvSource, EnvVarRef,
    EventRow, OwnerRef, PodConditions, PodDetail, PodKey, PodSummary, VolumeSummary, Workload,
};

fn ago(epoch: Timestamp, secs: i64) -> Timestamp {
    epoch - SignedDuration::from_secs(secs)
}

struct PodBuilder {
    epoch: Timestamp,
    pod: DemoPod,
}

impl PodBuilder {
    fn new(
        epoch: Timestamp,
        ns: &str,
        name: &str,
        owner: Option<(&str, &str)>,
        top: (&str, &str),
    ) -> Self {
        let owner_ref = owner.map(|(k, n)| OwnerRef {
            kind: k.to_string(),
            name: n.to_string(),
        });
        let mut chain: Vec<OwnerRef> = owner_ref.iter().cloned().collect();
        if owner.is_some_and(|(k, n)| (k, n) != top) {
            chain.push(OwnerRef {
                kind: top.0.to_string(),
                name: top.1.to_string(),
            });
        }
        let uid = format!(
            "{:08x}-demo-4000-8000-{:012x}",
            fnv(name) as u32,
            fnv(ns) & 0xffff_ffff_ffff
        );
        Self {
            epoch,
            pod: DemoPod {
                detail: PodDetail {
                    summary: PodSummary {
                        key: PodKey::new(ns, name),
                        uid,
                        resource_version: super::json::resource_version("Pod", name),
                        phase: "Running".to_string(),
                        reason: None,
                        message: None,
                        node: Some("demo-node-1".to_string()),
                        created: Some(ago(epoch, 3 * 3600)),
                        failed_at: None,
                        restart_policy: Some("Always".to_string()),
                        owner: owner_ref,
                        workload: Workload {
                            kind: top.0.to_string(),
                            name: top.1.to_string(),
                        },
                        containers: Vec::new(),
                        deletion_timestamp: None,
                        conditions: PodConditions::default(),
                        annotations: Vec::new(),
                    },
                    containers: Vec::new(),
                    volumes: vec![VolumeSummary {
                        name: "kube-api-access".to_string(),
                        source: "projected".to_string(),
                    }],
                    owner_chain: chain,
                    service_account: Some("default".to_string()),
                    pod_ip: Some(format!("10.244.1.{}", fnv(name) % 250 + 2)),
                },
                events: Vec::new(),
                logs: Vec::new(),
            },
        }
    }

    fn phase(mut self, phase: &str, reason: Option<&str>, message: Option<&str>) -> Self {
        let s = &mut self.pod.detail.summary;
        s.phase = phase.to_string();
        s.reason = reason.map(str::to_string);
        s.message = message.map(str::to_string);
        self
    }

    fn node(mut self, node: &str) -> Self {
        self.pod.detail.summary.node = Some(node.to_string());
        self
    }

    fn restart_policy(mut self, policy: &str) -> Self {
        self.pod.detail.summary.restart_policy = Some(policy.to_string());
        self
    }

    #[allow(clippy::too_many_arguments)]
    fn container(
        mut self,
        name: &str,
        role: ContainerRole,
        image: &str,
        restarts: u32,
        state: ContainerState,
        last_state: ContainerState,
        env: Vec<EnvVarRef>,
    ) -> Self {
        let ready = matches!(state, ContainerState::Running { .. });
        let digest = format!("{:016x}{:016x}", fnv(image), fnv(name));
        // Every demo container reports a status, listed like the spec: init ones, then main.
        let status_index = self
            .pod
            .detail
            .summary
            .containers
            .iter()
            .filter(|c| c.role.is_init() == role.is_init())
            .count();
        self.pod.detail.summary.containers.push(ContainerSummary {
            name: name.to_string(),
            role,
            image: image.to_string(),
            image_id: Some(format!(
                "{}@sha256:{digest}{digest}",
                image.split(':').next().unwrap_or(image)
            )),
            container_id: Some(format!("containerd://{digest}{digest}")),
            ready,
            started: ready,
            restarts,
            state,
            last_state,
            status_index: Some(status_index),
        });
        self.pod.detail.containers.push(ContainerSpecDetail {
            name: name.to_string(),
            role,
            image: image.to_string(),
            command: Vec::new(),
            env,
            mounts: vec![
                "kube-api-access → /var/run/secrets/kubernetes.io/serviceaccount".to_string(),
            ],
        });
        self
    }

    /// A volume, mounted at `/etc/<name>` in the containers added so far.
    fn volume(mut self, name: &str, source: &str) -> Self {
        self.pod.detail.volumes.push(VolumeSummary {
            name: name.to_string(),
            source: source.to_string(),
        });
        for c in &mut self.pod.detail.containers {
            c.mounts.push(format!("{name} → /etc/{name}"));
        }
        self
    }

    fn event(
        mut self,
        type_: &str,
        reason: &str,
        message: &str,
        count: u32,
        first: i64,
        last: i64,
    ) -> Self {
        self.pod.events.push(EventRow {
            type_: type_.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            count,
            first_seen: Some(ago(self.epoch, first)),
            last_seen: Some(ago(self.epoch, last)),
            field_path: None,
            source: Some("kubelet".to_string()),
        });
        self
    }

    fn logs(mut self, container: &str, previous: bool, text: &str) -> Self {
        self.pod
            .logs
            .push((container.to_string(), previous, text.as_bytes().to_vec()));
        self
    }

    /// The pod with the conditions its containers imply (`Initialized` once every init
    /// container succeeded and every sidecar started, `Ready` once every container is ready).
    fn build(mut self) -> DemoPod {
        let s = &mut self.pod.detail.summary;
        let initialized = s.containers.iter().all(|c| match c.role {
            ContainerRole::Init => {
                matches!(c.state, ContainerState::Terminated { exit_code: 0, .. })
            }
            ContainerRole::Sidecar => c.started,
            _ => true,
        });
        let ready = initialized
            && s.containers
                .iter()
                .filter(|c| c.role != ContainerRole::Init)
                .all(|c| c.ready);
        s.conditions = PodConditions {
            initialized,
            ready,
            scheduling_gated: false,
        };
        self.pod
    }
}

pub(super) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn running(epoch: Timestamp, secs_ago: i64) -> ContainerState {
    ContainerState::Running {
        started_at: Some(ago(epoch, secs_ago)),
    }
}

fn waiting(reason: &str, message: &str) -> ContainerState {
    ContainerState::Waiting {
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
    }
}

fn terminated(
    epoch: Timestamp,
    exit_code: i32,
    reason: &str,
    message: Option<&str>,
    finished_ago: i64,
    ran: i64,
) -> ContainerState {
    ContainerState::Terminated {
        exit_code,
        signal: None,
        reason: Some(reason.to_string()),
        message: message.map(str::to_string),
        started_at: Some(ago(epoch, finished_ago + ran)),
        finished_at: Some(ago(epoch, finished_ago)),
    }
}

fn env(name: &str, source: EnvSource) -> EnvVarRef {
    EnvVarRef {
        name: name.to_string(),
        source,
    }
}

fn checkout_env() -> Vec<EnvVarRef> {
    vec![
        env("LOG_LEVEL", EnvSource::Literal),
        env(
            "DATABASE_URL",
            EnvSource::SecretKey {
                name: "checkout-db".to_string(),
                key: "url".to_string(),
            },
        ),
        env(
            "FEATURE_FLAGS",
            EnvSource::ConfigMapKey {
                name: "checkout-config".to_string(),
                key: "flags".to_string(),
            },
        ),
        env("POD_IP", EnvSource::Field("status.podIP".to_string())),
    ]
}

const CHECKOUT_PREVIOUS: &str = "2026-11-20T09:58:01Z INFO checkout starting version=2.14.0\n\
2026-11-20T09:58:01Z INFO connecting to postgres host=orders-db.shop.svc port=5432\n\
2026-11-20T09:58:04Z WARN retrying database connection attempt=1 err=\"connection refused\"\n\
2026-11-20T09:58:07Z WARN retrying database connection attempt=2 err=\"connection refused\"\n\
2026-11-20T09:58:10Z ERROR giving up on database: dial tcp 10.96.14.2:5432: connect: connection refused\n\
panic: cannot start without a database\n\
\n\
goroutine 1 [running]:\n\
main.main()\n\
\t/src/cmd/checkout/main.go:88 +0x1d4\n";

const LEDGER_PREVIOUS: &str = "2026-11-20T09:41:12Z INFO ledger-worker consuming topic=settlements partition=3\n\
2026-11-20T09:44:30Z INFO batch loaded rows=812344 heap_mb=1630\n\
2026-11-20T09:45:02Z INFO batch loaded rows=1623110 heap_mb=1988\n";

/// A log with terminal escape sequences: the console must show them as placeholders.
const AGENT_PREVIOUS: &str = "metrics-agent 0.9.1 starting\n\
scraping http://127.0.0.1:9090/metrics\n\
\x1b]0;owned-title\x07\x1b[2Jinjected: this line tried to retitle and clear your terminal\n\
progress 10%\rprogress 99%\n\
fatal: scrape target returned 503\n";

/// The demo pods, timed relative to `epoch`.
pub fn pods(epoch: Timestamp) -> Vec<DemoPod> {
    let e = epoch;
    let mut pods = Vec::new();
    for (i, suffix) in ["7fb9x", "k2mzq", "p8d4s"].iter().enumerate() {
        let i = i as i64;
        pods.push(
            PodBuilder::new(
                e,
                "shop",
                &format!("checkout-6c9f8b7d54-{suffix}"),
                Some(("ReplicaSet", "checkout-6c9f8b7d54")),
                ("Deployment", "checkout"),
            )
            .node(if i == 1 { "demo-node-2" } else { "demo-node-1" })
            .container(
                "checkout",
                ContainerRole::Main,
                "registry.demo/shop/checkout:2.14.0",
                41 + i as u32,
                waiting(
                    "CrashLoopBackOff",
                    "back-off 5m0s restarting failed container=checkout",
                ),
                terminated(
                    e,
                    1,
                    "Error",
                    Some("cannot start without a database"),
                    50 + 20 * i,
                    9,
                ),
                checkout_env(),
            )
            .volume("config", "configMap checkout-config")
            .volume("db-tls", "secret checkout-db-tls")
            .event(
                "Warning",
                "BackOff",
                "Back-off restarting failed container checkout",
                180,
                7200,
                50 + 20 * i,
            )
            .event(
                "Normal",
                "Pulled",
                "Container image \"registry.demo/shop/checkout:2.14.0\" already present on machine",
                41,
                7300,
                400,
            )
            .logs("checkout", true, CHECKOUT_PREVIOUS)
            .logs(
                "checkout",
                false,
                "2026-11-20T09:59:50Z INFO checkout starting version=2.14.0\n",
            )
            .build(),
        );
    }
    pods.push(
        PodBuilder::new(
            e,
            "payments",
            "ledger-worker-5d8c7b6f4-tq9wn",
            Some(("ReplicaSet", "ledger-worker-5d8c7b6f4")),
            ("Deployment", "ledger-worker"),
        )
        .node("demo-node-2")
        .container(
            "worker",
            ContainerRole::Main,
            "registry.demo/payments/ledger:1.8.3",
            3,
            running(e, 840),
            terminated(e, 137, "OOMKilled", None, 845, 3600),
            vec![env("JAVA_OPTS", EnvSource::Literal)],
        )
        .event(
            "Warning",
            "OOMKilling",
            "Memory cgroup out of memory: Killed process 4121 (java)",
            3,
            9000,
            845,
        )
        .logs("worker", true, LEDGER_PREVIOUS)
        .logs(
            "worker",
            false,
            "2026-11-20T09:46:00Z INFO ledger-worker consuming topic=settlements partition=3\n",
        )
        .build(),
    );
    pods.push(
        PodBuilder::new(
            e,
            "platform",
            "api-gateway-7d9f6c5b8-xh2lp",
            Some(("ReplicaSet", "api-gateway-7d9f6c5b8")),
            ("Deployment", "api-gateway"),
        )
        .phase("Pending", None, None)
        .container(
            "wait-for-config",
            ContainerRole::Init,
            "registry.demo/tools/busybox:1.36",
            6,
            waiting(
                "CrashLoopBackOff",
                "back-off 2m40s restarting failed container=wait-for-config",
            ),
            terminated(
                e,
                2,
                "Error",
                Some("config map gateway-routes missing key routes.yaml"),
                130,
                2,
            ),
            vec![env(
                "ROUTES",
                EnvSource::ConfigMapAll {
                    name: "gateway-routes".to_string(),
                },
            )],
        )
        .container(
            "gateway",
            ContainerRole::Main,
            "registry.demo/platform/gateway:3.2.1",
            0,
            waiting("PodInitializing", ""),
            ContainerState::Unknown,
            Vec::new(),
        )
        .logs(
            "wait-for-config",
            true,
            "waiting for /config/routes.yaml\nerror: routes.yaml not found in /config\n",
        )
        .event(
            "Warning",
            "BackOff",
            "Back-off restarting failed container wait-for-config",
            30,
            2000,
            130,
        )
        .build(),
    );
    pods.push(
        PodBuilder::new(
            e,
            "shop",
            "frontend-84c9d7e6f5-uvwxy",
            Some(("ReplicaSet", "frontend-84c9d7e6f5")),
            ("Deployment", "frontend"),
        )
        .container(
            "web",
            ContainerRole::Main,
            "registry.demo/shop/web:2.0.0",
            0,
            running(e, 5000),
            ContainerState::Unknown,
            Vec::new(),
        )
        .container(
            "metrics-agent",
            ContainerRole::Sidecar,
            "registry.demo/tools/metrics-agent:0.9.1",
            9,
            running(e, 60),
            terminated(e, 1, "Error", Some("scrape target returned 503"), 65, 300),
            Vec::new(),
        )
        .logs("metrics-agent", true, AGENT_PREVIOUS)
        .logs("metrics-agent", false, "metrics-agent 0.9.1 starting\n")
        .logs("web", false, "GET / 200 3ms\nGET /cart 200 5ms\n")
        .build(),
    );
    pods.push(
        PodBuilder::new(
            e,
            "shop",
            "search-5b6c7d8e9f-abcde",
            Some(("ReplicaSet", "search-5b6c7d8e9f")),
            ("Deployment", "search"),
        )
        .phase("Pending", None, None)
        .container(
            "search",
            ContainerRole::Main,
            "registry.demo/shop/search:9.9.9-missing",
            0,
            waiting(
                "ImagePullBackOff",
                "Back-off pulling image \"registry.demo/shop/search:9.9.9-missing\"",
            ),
            ContainerState::Unknown,
            Vec::new(),
        )
        .event(
            "Warning",
            "Failed",
            "Failed to pull image \"registry.demo/shop/search:9.9.9-missing\": not found",
            12,
            1800,
            30,
        )
        .build(),
    );
    pods.push(
        PodBuilder::new(e, "payments", "report-gen-29005555-z7k2p", Some(("Job", "report-gen-29005555")), ("CronJob", "report-gen"))
            .phase("Failed", Some("Evicted"), Some("The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 8Gi."))
            .restart_policy("Never")
            .node("demo-node-3")
            .container(
                "report",
                ContainerRole::Main,
                "registry.demo/payments/report:4.1",
                0,
                terminated(e, 137, "ContainerStatusUnknown", Some("The container could not be located when the pod was terminated"), 1500, 600),
                ContainerState::Unknown,
                Vec::new(),
            )
            .event("Warning", "Evicted", "The node was low on resource: ephemeral-storage.", 1, 1500, 1500)
            .build(),
    );
    pods.push(
        PodBuilder::new(
            e,
            "payments",
            "settle-29005600-m4n5b",
            Some(("Job", "settle-29005600")),
            ("CronJob", "settle"),
        )
        .phase("Failed", None, None)
        .restart_policy("Never")
        .container(
            "settle",
            ContainerRole::Main,
            "registry.demo/payments/settle:1.0.4",
            0,
            terminated(
                e,
                3,
                "Error",
                Some("reconciliation mismatch: 14 transactions"),
                2400,
                90,
            ),
            ContainerState::Unknown,
            Vec::new(),
        )
        .logs(
            "settle",
            false,
            "settle: reconciling 2026-11-19\nsettle: mismatch in 14 transactions\nexit 3\n",
        )
        .build(),
    );
    pods.push(
        PodBuilder::new(e, "default", "debug-shell", None, ("Pod", "debug-shell"))
            .container(
                "shell",
                ContainerRole::Main,
                "registry.demo/tools/netshoot:0.13",
                2,
                running(e, 300),
                terminated(e, 130, "Error", None, 310, 1200),
                Vec::new(),
            )
            .logs("shell", true, "bash-5.2# curl -sv http://checkout.shop:8080/healthz\n* connect to 10.96.7.7 port 8080 failed: Connection refused\nbash-5.2# ^C\n")
            .build(),
    );
    for (name, ns, image) in [
        (
            "web-6d4cf56db6-2xk8j",
            "default",
            "registry.demo/default/web:1.0",
        ),
        (
            "web-6d4cf56db6-9qw4e",
            "default",
            "registry.demo/default/web:1.0",
        ),
        (
            "coredns-5d78c9869d-l7tq2",
            "kube-system",
            "registry.k8s.io/coredns/coredns:v1.11.1",
        ),
        (
            "cart-api-7c5d9f8b6-h3j4k",
            "shop",
            "registry.demo/shop/cart-api:1.4.2",
        ),
        (
            "report-uploader-6f8d9c7b5-7xk2d",
            "batch",
            "registry.demo/batch/report-uploader:0.3.1",
        ),
    ] {
        let rs = name.rsplit_once('-').map_or(name, |(a, _)| a);
        let dep = rs.rsplit_once('-').map_or(rs, |(a, _)| a);
        pods.push(
            PodBuilder::new(e, ns, name, Some(("ReplicaSet", rs)), ("Deployment", dep))
                .container(
                    dep,
                    ContainerRole::Main,
                    image,
                    0,
                    running(e, 10_000),
                    ContainerState::Unknown,
                    Vec::new(),
                )
                .logs(dep, false, "ready\n")
                .build(),
        );
    }
    pods
}

/// A ConfigMap or Secret of the demo (values in clear; the API base64-encodes a Secret's).
#[derive(Debug, Clone, Copy)]
pub struct ConfigObject {
    pub kind: &'static str,
    pub namespace: &'static str,
    pub name: &'static str,
    /// A Secret's `type`.
    pub secret_type: &'static str,
    pub data: &'static [(&'static str, &'static str)],
}

/// The database password the checkout pods get from Secret `checkout-db` (key `url`): the
/// value a bundle must never show unless told to (`--include-secrets`).
pub const CHECKOUT_DB_URL: &str =
    "postgres://checkout:Kq7-demo-Pa55w0rd-x9@orders-db.shop.svc:5432/orders";

/// The ConfigMaps and Secrets the demo pods reference (`kube-root-ca.crt` aside, which every
/// namespace has).
pub const CONFIG_OBJECTS: &[ConfigObject] = &[
    ConfigObject {
        kind: "ConfigMap",
        namespace: "shop",
        name: "checkout-config",
        secret_type: "",
        data: &[
            ("flags", "new-checkout=true,express-pay=false"),
            (
                "app.yaml",
                "db:\n  pool: 10\n  timeout: 3s\nretry:\n  attempts: 3\n",
            ),
        ],
    },
    ConfigObject {
        kind: "Secret",
        namespace: "shop",
        name: "checkout-db",
        secret_type: "Opaque",
        data: &[
            ("url", CHECKOUT_DB_URL),
            (
                "admin-url",
                "postgres://admin:demo-admin-only@orders-db.shop.svc:5432/orders",
            ),
        ],
    },
    ConfigObject {
        kind: "Secret",
        namespace: "shop",
        name: "checkout-db-tls",
        secret_type: "kubernetes.io/tls",
        data: &[
            (
                "tls.crt",
                "-----BEGIN CERTIFICATE-----\nMIIBdemoCERTcheckoutDB\n-----END CERTIFICATE-----\n",
            ),
            (
                "tls.key",
                "-----BEGIN PRIVATE KEY-----\nMIIEdemoKEYcheckoutDB\n-----END PRIVATE KEY-----\n",
            ),
        ],
    },
    ConfigObject {
        kind: "ConfigMap",
        namespace: "platform",
        name: "gateway-routes",
        secret_type: "",
        data: &[("routes.json", "{\"routes\": []}\n")],
    },
];

/// Every namespace's `kube-root-ca.crt` (what the projected service-account volume mounts).
pub const ROOT_CA: ConfigObject = ConfigObject {
    kind: "ConfigMap",
    namespace: "",
    name: "kube-root-ca.crt",
    secret_type: "",
    data: &[(
        "ca.crt",
        "-----BEGIN CERTIFICATE-----\nMIIBdemoCLUSTERca\n-----END CERTIFICATE-----\n",
    )],
};
