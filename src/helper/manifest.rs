//! The helper pod manifest (`ktui helper manifest`, and what the console applies).
//!
//! One typed tree per object ([`Node`]: maps, lists and scalars, each entry with an optional
//! justification comment) renders to both forms: JSON objects for `Cluster::apply`, and the
//! commented YAML `ktui helper manifest` prints. Every interpolated value is validated
//! ([`HelperSpec::validate`]) and every string is quoted by the emitter when it is not a plain,
//! unambiguous YAML scalar, so the YAML parses back to exactly the applied objects.

mod variant;
pub(crate) mod yaml;

use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::cluster::PodKey;
use yaml::{Field, Item, Node, b, f, item, map, num, s, seq};

pub use variant::{
    ANNOTATION_CAPABILITIES, CAPTURE_DIR, CAPTURE_DIR_LIMIT, EmptyDir, HelperVariant, HostPath,
    LABEL_VARIANT, VariantSpec,
};

/// The helper's namespace unless `-n` names another.
pub const DEFAULT_NAMESPACE: &str = "ktui-system";
/// The ServiceAccount the helper pod runs as (no Role is bound to it).
pub const SERVICE_ACCOUNT: &str = "ktui-helper";
/// The helper container's name.
pub const CONTAINER: &str = "helper";
/// The helper binary inside the image (helper-image/Dockerfile).
pub const BINARY: &str = "/ktui-helper";
/// How long Kubernetes lets a helper pod run (4 h): a forgotten helper stops by itself.
pub const DEFAULT_DEADLINE_SECS: u32 = 4 * 3600;
/// The architecture `helper-image/build-image.sh` builds for.
pub const DEFAULT_IMAGE_ARCH: &str = "amd64";
/// Prefix of every helper pod name.
pub const POD_PREFIX: &str = "ktui-helper-";

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_VERSION: &str = "app.kubernetes.io/version";
pub const LABEL_NODE: &str = "ktui.dev/node";
pub const LABEL_CREATED_BY: &str = "ktui.dev/created-by";
pub const ANNOTATION_CREATED_AT: &str = "ktui.dev/created-at";
pub const ANNOTATION_CREATED_BY: &str = "ktui.dev/created-by";
pub const ANNOTATION_NODE: &str = "ktui.dev/node";
pub const APP_NAME: &str = "ktui-helper";
pub const MANAGER: &str = "ktui";

/// The capabilities added after dropping ALL, each with why the helper needs it (the default
/// helper's; a [`HelperVariant`] adds to them).
pub const CAPABILITIES: &[(&str, &str)] = &[
    (
        "BPF",
        "BPF: load the eBPF socket probes and create their maps (bpf(2), kernels >= 5.8).",
    ),
    (
        "PERFMON",
        "PERFMON: attach the probes to tracepoints/kprobes and read kernel memory in them (perf_event_open).",
    ),
    (
        "SYS_PTRACE",
        "SYS_PTRACE: read other processes' /proc/PID (fds, namespaces) to map sockets to pods.",
    ),
    (
        "NET_ADMIN",
        "NET_ADMIN: read the node's conntrack table over ctnetlink (read-only dump/get requests; the kernel requires NET_ADMIN for any ctnetlink request), to show Service VIP → backend translations.",
    ),
];

/// What the helper can do on its node, said plainly: the confirmation, the manifest and the
/// README say this (the pod is not `privileged`, but that understates it).
pub const POWER: &str = "close to root on the node: it runs as root in the host's process and \
    network namespaces (hostPID, hostNetwork) without a seccomp filter, and SYS_PTRACE lets it \
    open other processes' files, the host's included (through /proc/1/root); NET_ADMIN, there \
    for reading conntrack, would also let it change the node's network configuration. Its host \
    mounts are read-only and it has no Kubernetes API permissions.";

/// A read-only hostPath mount: (volume name, path, hostPath type, why) (the default helper's;
/// a [`HelperVariant`] adds to them or makes one writable).
pub const HOST_PATHS: &[HostPath] = &[
    (
        "btf",
        "/sys/kernel/btf",
        "Directory",
        "Kernel type information (BTF) for the CO-RE eBPF programs.",
    ),
    (
        "cgroup",
        "/sys/fs/cgroup",
        "Directory",
        "Map the cgroup IDs in events to pods and containers.",
    ),
    (
        "tracing",
        "/sys/kernel/tracing",
        "Directory",
        "Tracepoint IDs and formats for attaching the probes.",
    ),
    (
        "pod-logs",
        "/var/log/pods",
        "Directory",
        "Container logs straight from the node when the API server is slow or down.",
    ),
    (
        "checkpoints",
        "/var/lib/kubelet/checkpoints",
        "DirectoryOrCreate",
        "Container checkpoints made by the kubelet (created empty when none was taken yet).",
    ),
];

/// An invalid input to the manifest (node, namespace or image), said so with the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

/// The default image: what `helper-image/build-image.sh` tags.
pub fn default_image() -> String {
    format!("localhost/ktui-helper:{}", env!("CARGO_PKG_VERSION"))
}

/// The local user for `ktui.dev/created-by`: `$USER`, else `$LOGNAME`, else `unknown`.
pub fn local_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// What to deploy where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperSpec {
    /// `None`: no `spec.nodeName` (the scheduler picks a node); the console always sets it.
    pub node: Option<String>,
    pub namespace: String,
    pub image: String,
    /// Who deploys it (raw; the label holds a sanitised copy).
    pub created_by: String,
    pub created_at: Timestamp,
    pub deadline_secs: u32,
    /// What the pod adds to the default helper (capabilities, mounts).
    pub variant: HelperVariant,
}

impl HelperSpec {
    /// Defaults: namespace `ktui-system`, the default image, `$USER`, now, 4 h.
    pub fn new(node: Option<&str>) -> Self {
        Self {
            node: node.map(str::to_string),
            namespace: DEFAULT_NAMESPACE.to_string(),
            image: default_image(),
            created_by: local_user(),
            created_at: Timestamp::now(),
            deadline_secs: DEFAULT_DEADLINE_SECS,
            variant: HelperVariant::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ManifestError> {
        if let Some(node) = &self.node {
            validate_node(node)?;
        }
        validate_namespace(&self.namespace)?;
        validate_image(&self.image)?;
        if self.deadline_secs == 0 {
            return Err(ManifestError(
                "the helper's deadline must be at least 1 second".to_string(),
            ));
        }
        Ok(())
    }

    pub fn pod_name(&self) -> String {
        match &self.node {
            Some(node) => pod_name(node),
            None => APP_NAME.to_string(),
        }
    }

    pub fn pod_key(&self) -> PodKey {
        PodKey::new(&self.namespace, self.pod_name())
    }

    /// Whether the image is the default one (built for [`DEFAULT_IMAGE_ARCH`] only).
    pub fn uses_default_image(&self) -> bool {
        self.image == default_image()
    }

    /// `argv` that runs the protocol server in the helper container.
    pub fn serve_argv() -> Vec<String> {
        vec![BINARY.to_string(), "serve".to_string()]
    }

    fn created_at_text(&self) -> String {
        self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    fn common_labels(&self) -> Vec<Field> {
        vec![
            f(LABEL_NAME, s(APP_NAME)),
            f(LABEL_MANAGED_BY, s(MANAGER)),
            f(LABEL_VERSION, s(env!("CARGO_PKG_VERSION"))),
        ]
    }

    /// Whether ktui creates the helper's namespace: only its own, [`DEFAULT_NAMESPACE`]. Any
    /// other namespace (`-n NS`) must exist already and is never changed.
    pub fn creates_namespace(&self) -> bool {
        self.namespace == DEFAULT_NAMESPACE
    }

    fn namespace_node(&self) -> Node {
        let psa = "The helper needs host namespaces, hostPath volumes and added capabilities: only \
                   the Pod Security \"privileged\" level admits them (in this namespace only).";
        let mut labels = vec![f(LABEL_MANAGED_BY, s(MANAGER))];
        labels.push(f("pod-security.kubernetes.io/enforce", s("privileged")).note(psa));
        labels.push(f("pod-security.kubernetes.io/audit", s("privileged")));
        labels.push(f("pod-security.kubernetes.io/warn", s("privileged")));
        map(vec![
            f("apiVersion", s("v1")),
            f("kind", s("Namespace")),
            f(
                "metadata",
                map(vec![
                    f("name", s(&self.namespace)),
                    f("labels", map(labels)),
                    f(
                        "annotations",
                        map(vec![
                            f(ANNOTATION_CREATED_AT, s(self.created_at_text())).note(
                                "Set only when ktui creates the namespace: `ktui helper remove --all` deletes a namespace only with this annotation (and nothing but helpers in it).",
                            ),
                            f(ANNOTATION_CREATED_BY, s(&self.created_by)),
                        ]),
                    ),
                ]),
            ),
        ])
    }

    fn service_account_node(&self) -> Node {
        map(vec![
            f("apiVersion", s("v1")),
            f("kind", s("ServiceAccount")),
            f(
                "metadata",
                map(vec![
                    f("name", s(SERVICE_ACCOUNT)).note(
                        "No Role or RoleBinding refers to it: the helper never calls the Kubernetes API.",
                    ),
                    f("namespace", s(&self.namespace)),
                    f("labels", map(self.common_labels())),
                ]),
            ),
            f("automountServiceAccountToken", b(false)).note("No API token is mounted."),
        ])
    }

    fn pod_node(&self) -> Node {
        let mut labels = self.common_labels();
        if let Some(node) = &self.node {
            labels.push(f(LABEL_NODE, s(label_value(node))));
        }
        labels.push(f(LABEL_CREATED_BY, s(label_value(&self.created_by))));
        let variant = self.variant;
        if !variant.is_default() {
            labels.push(f(LABEL_VARIANT, s(variant.name())).note(
                "Which helper variant this is (what it adds is in ktui.dev/capabilities): the console replaces a running helper that lacks what a feature needs.",
            ));
        }
        let mut annotations = vec![
            f(ANNOTATION_CREATED_AT, s(self.created_at_text())),
            f(ANNOTATION_CREATED_BY, s(&self.created_by)),
        ];
        if !variant.is_default() {
            annotations.push(f(
                ANNOTATION_CAPABILITIES,
                s(variant.capability_names().join(",")),
            ));
        }
        if let Some(node) = &self.node {
            annotations.push(f(ANNOTATION_NODE, s(node)));
        }
        annotations.push(f("kubectl.kubernetes.io/default-container", s(CONTAINER)));

        let mut spec = Vec::new();
        if let Some(node) = &self.node {
            spec.push(
                f("nodeName", s(node)).note(
                    "Pinned to the node to observe, bypassing the scheduler: the helper sees this node only.",
                ),
            );
        }
        spec.extend([
            f("serviceAccountName", s(SERVICE_ACCOUNT)),
            f("automountServiceAccountToken", b(false)),
            f("hostPID", b(true)).note(
                "See every process on the node: map sockets to pods through /proc and enter pod network namespaces.",
            ),
            f("hostNetwork", b(true)).note(
                "Capture on the node's interfaces. No port is opened: the console reaches the helper through pods/exec.",
            ),
            f("restartPolicy", s("Never")).note(
                "A one-off debugging pod (like `kubectl debug node/...`): a dead helper stays Failed with its reason visible instead of restarting on a sick node; ktui deploys a fresh one when needed.",
            ),
            f("activeDeadlineSeconds", num(u64::from(self.deadline_secs))).note(
                "A forgotten helper stops by itself (the pod turns Failed/DeadlineExceeded; `ktui helper remove` deletes it).",
            ),
            f("terminationGracePeriodSeconds", num(5))
                .note("`ktui-helper idle` exits on SIGTERM at once."),
            f("enableServiceLinks", b(false)),
            f(
                "tolerations",
                seq(vec![item(map(vec![f("operator", s("Exists"))])).note(
                    "Tolerate every taint (NoSchedule, NoExecute): the node to investigate may be tainted because it is sick.",
                )]),
            ),
            f("containers", seq(vec![item(self.container_node())])),
            f("volumes", seq(self.volumes())),
        ]);
        map(vec![
            f("apiVersion", s("v1")),
            f("kind", s("Pod")),
            f(
                "metadata",
                map(vec![
                    f("name", s(self.pod_name())),
                    f("namespace", s(&self.namespace)),
                    f("labels", map(labels)),
                    f("annotations", map(annotations)),
                ]),
            ),
            f("spec", map(spec)),
        ])
    }

    fn container_node(&self) -> Node {
        let variant = self.variant;
        let caps = seq(variant
            .capabilities()
            .map(|(cap, why)| item(s(*cap)).note(why))
            .collect());
        let mounts = variant
            .host_paths()
            .map(|(name, path, _, _)| {
                let writable = variant.writable(name);
                let mount = item(map(vec![
                    f("name", s(*name)),
                    f("mountPath", s(*path)),
                    f("readOnly", b(writable.is_none())),
                ]));
                match writable {
                    Some(why) => mount.note(why),
                    None => mount,
                }
            })
            .chain([item(map(vec![
                f("name", s("tmp")),
                f("mountPath", s("/tmp")),
            ]))])
            .chain(variant.empty_dirs().iter().map(|(name, path, _, why)| {
                item(map(vec![f("name", s(*name)), f("mountPath", s(*path))])).note(why)
            }))
            .collect();
        map(vec![
            f("name", s(CONTAINER)),
            f("image", s(&self.image)),
            f("imagePullPolicy", s("IfNotPresent")).note(
                "Use the image already on the node (helper-image/build-image.sh); pull only when it is missing.",
            ),
            f("command", seq(vec![item(s(BINARY)), item(s("idle"))])).note(
                "The main process sleeps until SIGTERM; the console runs `ktui-helper serve` through pods/exec.",
            ),
            f(
                "resources",
                map(vec![
                    f(
                        "requests",
                        map(vec![f("cpu", s("50m")), f("memory", s("64Mi"))]),
                    ),
                    f(
                        "limits",
                        map(vec![f("cpu", s("1")), f("memory", s("512Mi"))]),
                    ),
                ]),
            )
            .note("Bounded so a debugging tool cannot starve a sick node; the memory covers capture buffers."),
            f(
                "securityContext",
                map(vec![
                    f("privileged", b(false)).note(&self.privileged_note()),
                    f("allowPrivilegeEscalation", b(false)),
                    f("readOnlyRootFilesystem", b(true)).note(&self.writes_note()),
                    f("runAsUser", num(0)).note(
                        "Root in the container: Kubernetes grants capabilities to root processes only (no ambient capabilities).",
                    ),
                    f("runAsNonRoot", b(false)),
                    f(
                        "capabilities",
                        map(vec![
                            f("drop", seq(vec![item(s("ALL"))]))
                                .note("Start from no capability, then add only these:"),
                            f("add", caps),
                        ]),
                    ),
                    f("seccompProfile", map(vec![f("type", s("Unconfined"))])).note(
                        "RuntimeDefault refuses or capability-gates bpf(), perf_event_open() and setns() differently per runtime and version (CRI-O and older containerd block bpf()); the capability set above is the restriction that holds everywhere.",
                    ),
                ]),
            ),
            f("volumeMounts", seq(mounts)).note(&self.mounts_note()),
        ])
    }

    fn privileged_note(&self) -> String {
        let base = "Not `privileged`, but do not read that as harmless: root + hostPID + SYS_PTRACE + NET_ADMIN in the host's network namespace + no seccomp filter is close to root on the node (the host's files are reachable through /proc/1/root).";
        let more = self.variant.spec().power;
        if more.is_empty() {
            base.to_string()
        } else {
            format!("{base} {more}")
        }
    }

    fn writes_note(&self) -> String {
        let dirs = self.variant.empty_dirs();
        if dirs.is_empty() {
            return "Writes go to /tmp only (an emptyDir with a size limit).".to_string();
        }
        let paths: Vec<&str> = dirs.iter().map(|(_, path, ..)| *path).collect();
        format!(
            "Writes go to /tmp and {} only (emptyDirs with size limits).",
            paths.join(", ")
        )
    }

    fn mounts_note(&self) -> String {
        let writable: Vec<&str> = self
            .variant
            .host_paths()
            .filter(|(name, ..)| self.variant.writable(name).is_some())
            .map(|(_, path, ..)| *path)
            .collect();
        if writable.is_empty() {
            "Every host path is mounted read-only.".to_string()
        } else {
            format!(
                "Every host path is mounted read-only except {} (see its note).",
                writable.join(", ")
            )
        }
    }

    fn volumes(&self) -> Vec<Item> {
        self.variant
            .host_paths()
            .map(|(name, path, kind, why)| {
                item(map(vec![
                    f("name", s(*name)),
                    f(
                        "hostPath",
                        map(vec![f("path", s(*path)), f("type", s(*kind))]),
                    ),
                ]))
                .note(why)
            })
            .chain([item(map(vec![
                f("name", s("tmp")),
                f("emptyDir", map(vec![f("sizeLimit", s("256Mi"))])),
            ]))
            .note("Scratch space; the root filesystem is read-only.")])
            .chain(self.variant.empty_dirs().iter().map(|(name, _, limit, _)| {
                item(map(vec![
                    f("name", s(*name)),
                    f("emptyDir", map(vec![f("sizeLimit", s(*limit))])),
                ]))
            }))
            .collect()
    }

    /// What the manifest holds, in the order to create them: the Namespace (only when ktui
    /// creates it, see [`Self::creates_namespace`]), the ServiceAccount, the Pod.
    pub fn objects(&self) -> Vec<Value> {
        self.nodes().iter().map(Node::to_json).collect()
    }

    fn nodes(&self) -> Vec<Node> {
        let mut nodes = Vec::with_capacity(3);
        if self.creates_namespace() {
            nodes.push(self.namespace_node());
        }
        nodes.push(self.service_account_node());
        nodes.push(self.pod_node());
        nodes
    }

    pub fn namespace_object(&self) -> Value {
        self.namespace_node().to_json()
    }

    pub fn service_account_object(&self) -> Value {
        self.service_account_node().to_json()
    }

    pub fn pod_object(&self) -> Value {
        self.pod_node().to_json()
    }

    /// The objects as commented YAML documents.
    pub fn to_yaml(&self) -> String {
        let node = self.node.as_deref().unwrap_or("(any: no --node given)");
        let ns = &self.namespace;
        let variant = self.variant;
        let what = if variant.is_default() {
            "ktui node helper".to_string()
        } else {
            format!(
                "ktui node helper, {} variant (adds {} for {})",
                variant.name(),
                variant
                    .spec()
                    .capabilities
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>()
                    .join(", "),
                variant.spec().purpose
            )
        };
        let power = if variant.spec().power.is_empty() {
            POWER.to_string()
        } else {
            format!("{POWER} {}", variant.spec().power)
        };
        let mut header = vec![
            format!("{what} for node {node}: what the ktui console creates."),
            format!("What it can do: {power}"),
            format!(
                "Created by {} at {}; Kubernetes stops it after {} s.",
                self.created_by,
                self.created_at_text(),
                self.deadline_secs
            ),
        ];
        if self.creates_namespace() {
            header.extend([
                format!("The Namespace is create-only: the console creates {ns} only when it is missing; by hand, `kubectl create` that document."),
                format!("Never apply it over an existing namespace: it would change Pod Security for every workload in {ns}."),
            ]);
        } else {
            header.extend([
                format!("Namespace {ns} must exist and admit privileged pods (Pod Security level \"privileged\"); ktui does not create or change it."),
                format!("If it refuses them, its owner decides: `kubectl label namespace {ns} pod-security.kubernetes.io/enforce=privileged` changes it for every workload there."),
            ]);
        }
        header.extend([
            "The ServiceAccount and Pod are server-side applied (field manager \"ktui\"; `kubectl apply --server-side --field-manager=ktui -f -`).".to_string(),
            "Remove with `ktui helper remove --node NODE` (or `--all`).".to_string(),
        ]);
        yaml::documents(&header, &self.nodes())
    }
}

/// What deploying a helper on `node` from `image` creates in the default namespace, one line
/// per object, for the console's confirmation dialog. Built from the constants the objects are
/// built from (no clock, no environment: the dialog is a pure view); a test checks it against
/// the objects.
pub fn describe(node: &str, image: &str, variant: HelperVariant) -> Vec<String> {
    let kind = if variant.is_default() {
        String::new()
    } else {
        format!(" ({} variant)", variant.name())
    };
    vec![
        format!(
            "Namespace {DEFAULT_NAMESPACE}, only if it is missing (Pod Security level \
             \"privileged\"); an existing namespace is not changed"
        ),
        format!("ServiceAccount {SERVICE_ACCOUNT} (no API permissions)"),
        format!(
            "Pod {}{kind} on node {node}, image {image}; Kubernetes stops it after {} h",
            pod_name(node),
            DEFAULT_DEADLINE_SECS.div_ceil(3600)
        ),
    ]
}

/// `ktui-helper-<node>` as a DNS-1123 label (lowercase alphanumerics and `-`, at most 63
/// characters); names too long end with a hash of the node name so they stay unique.
pub fn pod_name(node: &str) -> String {
    let mut clean = String::new();
    for c in node.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            clean.push(c);
        } else if !clean.ends_with('-') {
            clean.push('-');
        }
    }
    let clean = clean.trim_matches('-');
    let name = format!("{POD_PREFIX}{clean}");
    if !clean.is_empty() && name.len() <= 63 {
        return name;
    }
    let hash = hex::encode(Sha256::digest(node.as_bytes()));
    let short = hash.get(..8).unwrap_or("0");
    let room = 63 - POD_PREFIX.len() - 1 - short.len();
    let head: String = clean.chars().take(room).collect();
    let head = head.trim_end_matches('-');
    if head.is_empty() {
        format!("{POD_PREFIX}{short}")
    } else {
        format!("{POD_PREFIX}{head}-{short}")
    }
}

/// Any text as a label value: `[A-Za-z0-9._-]`, alphanumeric at both ends, at most 63
/// characters (other characters become `_`); `unknown` when nothing is left.
pub fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let cut: String = trimmed.chars().take(63).collect();
    let cut = cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if cut.is_empty() {
        "unknown".to_string()
    } else {
        cut.to_string()
    }
}

fn dns_label_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A node name is a DNS-1123 subdomain (like `ip-10-0-1-5.ec2.internal`).
pub fn validate_node(node: &str) -> Result<(), ManifestError> {
    if node.len() <= 253 && node.split('.').all(dns_label_ok) {
        return Ok(());
    }
    Err(ManifestError(format!(
        "invalid node name {node:?}: a node name is lowercase letters, digits, '-' and '.' \
         (see `kubectl get nodes`)"
    )))
}

/// A namespace name is a DNS-1123 label.
pub fn validate_namespace(ns: &str) -> Result<(), ManifestError> {
    if dns_label_ok(ns) {
        return Ok(());
    }
    Err(ManifestError(format!(
        "invalid namespace {ns:?}: at most 63 lowercase letters, digits and '-', starting and \
         ending with a letter or digit"
    )))
}

/// An image reference: `[registry/]repository[:tag][@digest]`, no spaces or control characters.
pub fn validate_image(image: &str) -> Result<(), ManifestError> {
    let ok = !image.is_empty()
        && image.len() <= 512
        && image
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._/:@+-".contains(&c))
        && image
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    Err(ManifestError(format!(
        "invalid image reference {image:?}: expected [registry/]repository[:tag][@digest], e.g. {}",
        default_image()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HelperSpec {
        HelperSpec {
            node: Some("worker-1.example.internal".into()),
            namespace: DEFAULT_NAMESPACE.into(),
            image: default_image(),
            created_by: "jane.doe@example.com".into(),
            created_at: Timestamp::from_second(1_795_168_800).unwrap(),
            deadline_secs: DEFAULT_DEADLINE_SECS,
            variant: HelperVariant::default(),
        }
    }

    fn parse(yaml: &str) -> Vec<Value> {
        serde_saphyr::from_multiple::<Value>(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    }

    #[test]
    fn yaml_round_trips_to_the_applied_objects() {
        let spec = spec();
        let yaml = spec.to_yaml();
        assert_eq!(parse(&yaml), spec.objects(), "{yaml}");
    }

    #[test]
    fn hostile_values_are_quoted_and_round_trip() {
        let mut spec = spec();
        spec.created_by = "x\"y\\z: #w\n- evil: true\u{7f}\u{202e}".into();
        let yaml = spec.to_yaml();
        let docs = parse(&yaml);
        assert_eq!(docs, spec.objects());
        assert_eq!(
            docs[2]["metadata"]["annotations"][ANNOTATION_CREATED_BY],
            spec.created_by.as_str()
        );
        assert_eq!(
            docs[2]["metadata"]["labels"][LABEL_CREATED_BY],
            "x_y_z___w_-_evil__true"
        );
        // The header comment stays one line per comment.
        assert!(yaml.lines().take(4).all(|l| l.starts_with("# ")), "{yaml}");
    }

    #[test]
    fn pod_fields() {
        let pod = &parse(&spec().to_yaml())[2];
        let spec_ = &pod["spec"];
        assert_eq!(
            pod["metadata"]["name"],
            "ktui-helper-worker-1-example-internal"
        );
        assert_eq!(pod["metadata"]["namespace"], "ktui-system");
        assert_eq!(spec_["nodeName"], "worker-1.example.internal");
        assert_eq!(spec_["hostPID"], true);
        assert_eq!(spec_["hostNetwork"], true);
        assert_eq!(spec_["restartPolicy"], "Never");
        assert_eq!(spec_["activeDeadlineSeconds"], 14_400);
        assert_eq!(spec_["serviceAccountName"], SERVICE_ACCOUNT);
        assert_eq!(spec_["automountServiceAccountToken"], false);
        assert_eq!(
            spec_["tolerations"],
            serde_json::json!([{"operator": "Exists"}])
        );
        let c = &spec_["containers"][0];
        assert_eq!(c["image"], default_image());
        assert!(default_image().starts_with("localhost/ktui-helper:"));
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["command"], serde_json::json!(["/ktui-helper", "idle"]));
        assert!(c["resources"]["requests"]["cpu"].is_string());
        assert!(c["resources"]["limits"]["memory"].is_string());
        let sc = &c["securityContext"];
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["seccompProfile"]["type"], "Unconfined");
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(
            sc["capabilities"]["add"],
            serde_json::json!(["BPF", "PERFMON", "SYS_PTRACE", "NET_ADMIN"])
        );
    }

    #[test]
    fn host_paths_are_exactly_these_and_read_only() {
        let pod = &spec().objects()[2];
        let volumes = pod["spec"]["volumes"].as_array().unwrap();
        let mounts = pod["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap();
        let host: Vec<&str> = volumes
            .iter()
            .filter_map(|v| v["hostPath"]["path"].as_str())
            .collect();
        assert_eq!(
            host,
            [
                "/sys/kernel/btf",
                "/sys/fs/cgroup",
                "/sys/kernel/tracing",
                "/var/log/pods",
                "/var/lib/kubelet/checkpoints"
            ]
        );
        for v in volumes.iter().filter(|v| v.get("hostPath").is_some()) {
            let m = mounts
                .iter()
                .find(|m| m["name"] == v["name"])
                .unwrap_or_else(|| panic!("no mount for {v}"));
            assert_eq!(m["readOnly"], true, "{m}");
            assert_eq!(m["mountPath"], v["hostPath"]["path"]);
        }
        // The only writable mount is the size-limited scratch emptyDir.
        for m in mounts.iter().filter(|m| m["readOnly"] != true) {
            let v = volumes.iter().find(|v| v["name"] == m["name"]).unwrap();
            assert!(v["emptyDir"]["sizeLimit"].is_string(), "{v}");
        }
    }

    #[test]
    fn every_capability_has_a_one_line_justification() {
        let yaml = spec().to_yaml();
        let lines: Vec<&str> = yaml.lines().collect();
        for (cap, _) in CAPABILITIES {
            let at = lines
                .iter()
                .position(|l| l.trim() == format!("- {cap}"))
                .unwrap_or_else(|| panic!("{cap} not in\n{yaml}"));
            let above = lines[at - 1].trim();
            assert!(
                above.starts_with(&format!("# {cap}: ")) && above.len() > cap.len() + 20,
                "{cap}: {above:?}"
            );
        }
        for key in [
            "hostPID",
            "hostNetwork",
            "restartPolicy",
            "seccompProfile",
            "nodeName",
        ] {
            let at = lines
                .iter()
                .position(|l| l.trim_start().starts_with(&format!("{key}:")))
                .unwrap();
            assert!(lines[at - 1].trim_start().starts_with("# "), "{key}");
        }
    }

    #[test]
    fn the_manifest_says_plainly_what_the_helper_can_do() {
        let yaml = spec().to_yaml();
        assert!(
            yaml.contains(&format!("# What it can do: {POWER}")),
            "{yaml}"
        );
        let lines: Vec<&str> = yaml.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim() == "privileged: false")
            .unwrap();
        let note = lines[at - 1];
        assert!(
            note.contains("close to root on the node") && note.contains("/proc/1/root"),
            "{note}"
        );
        assert!(!yaml.contains("Not privileged: only"), "{yaml}");
    }

    #[test]
    fn labels_and_annotations() {
        let objects = spec().objects();
        let ns = &objects[0];
        assert_eq!(ns["metadata"]["name"], "ktui-system");
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                ns["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")],
                "privileged"
            );
        }
        assert_eq!(
            ns["metadata"]["annotations"][ANNOTATION_CREATED_AT],
            "2026-11-20T10:00:00Z"
        );
        assert_eq!(
            ns["metadata"]["annotations"][ANNOTATION_CREATED_BY],
            "jane.doe@example.com"
        );
        let sa = &objects[1];
        assert_eq!(sa["kind"], "ServiceAccount");
        assert_eq!(sa["automountServiceAccountToken"], false);
        let meta = &objects[2]["metadata"];
        assert_eq!(meta["labels"][LABEL_NAME], "ktui-helper");
        assert_eq!(meta["labels"][LABEL_MANAGED_BY], "ktui");
        assert_eq!(meta["labels"][LABEL_CREATED_BY], "jane.doe_example.com");
        assert_eq!(meta["labels"][LABEL_NODE], "worker-1.example.internal");
        assert_eq!(
            meta["annotations"][ANNOTATION_CREATED_AT],
            "2026-11-20T10:00:00Z"
        );
        assert_eq!(
            meta["annotations"][ANNOTATION_CREATED_BY],
            "jane.doe@example.com"
        );
        assert_eq!(
            crate::cluster::HELPER_SELECTOR,
            format!("{LABEL_NAME}={APP_NAME}")
        );
    }

    #[test]
    fn pod_names_are_dns_labels() {
        assert_eq!(pod_name("node-1"), "ktui-helper-node-1");
        assert_eq!(pod_name("Node_1..x"), "ktui-helper-node-1-x");
        let long = "a".repeat(80) + ".b";
        let other = "a".repeat(80) + ".c";
        for n in [
            pod_name(&long),
            pod_name(&other),
            pod_name("..."),
            pod_name(""),
        ] {
            assert!(n.len() <= 63 && dns_label_ok(&n), "{n}");
        }
        assert_ne!(pod_name(&long), pod_name(&other));
    }

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("alice"), "alice");
        assert_eq!(label_value("-_x@y_-"), "x_y");
        assert_eq!(label_value("@@@"), "unknown");
        let long = label_value(&"ab".repeat(50));
        assert!(long.len() <= 63);
    }

    #[test]
    fn validation_quotes_the_value() {
        assert!(validate_node("ip-10-0-1-5.ec2.internal").is_ok());
        let e = validate_node("Bad Node").unwrap_err();
        assert!(e.0.contains("\"Bad Node\""), "{e}");
        assert!(validate_namespace("ktui-system").is_ok());
        assert!(validate_namespace("a.b").is_err());
        assert!(validate_image("registry.example.com:5000/ktui/helper@sha256:abc").is_ok());
        assert!(validate_image("x y").is_err());
        assert!(validate_image("-x").is_err());
    }

    #[test]
    fn describe_and_power_agree_with_the_objects() {
        let mut spec = spec();
        spec.node = Some("demo-node-1".into());
        let objects = spec.objects();
        let (ns, sa, pod) = (&objects[0], &objects[1], &objects[2]);
        let lines = describe("demo-node-1", &spec.image, HelperVariant::default());
        assert_eq!(
            lines,
            [
                "Namespace ktui-system, only if it is missing (Pod Security level \"privileged\"); \
                 an existing namespace is not changed",
                "ServiceAccount ktui-helper (no API permissions)",
                "Pod ktui-helper-demo-node-1 on node demo-node-1, image localhost/ktui-helper:0.1.0; \
                 Kubernetes stops it after 4 h"
            ]
        );
        assert_eq!(ns["metadata"]["name"], DEFAULT_NAMESPACE);
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "privileged"
        );
        assert_eq!(sa["metadata"]["name"], SERVICE_ACCOUNT);
        assert_eq!(pod["metadata"]["name"], "ktui-helper-demo-node-1");
        assert_eq!(pod["spec"]["activeDeadlineSeconds"], 4 * 3600);
        // What POWER says the pod has, it has.
        let spec_ = &pod["spec"];
        let sc = &spec_["containers"][0]["securityContext"];
        assert_eq!(
            (spec_["hostPID"].clone(), spec_["hostNetwork"].clone()),
            (true.into(), true.into())
        );
        assert_eq!(sc["runAsUser"], 0);
        assert_eq!(sc["seccompProfile"]["type"], "Unconfined");
        let caps: Vec<&str> = CAPABILITIES.iter().map(|(c, _)| *c).collect();
        assert_eq!(sc["capabilities"]["add"], serde_json::json!(caps));
        for word in [
            "root",
            "hostPID",
            "hostNetwork",
            "seccomp",
            "SYS_PTRACE",
            "/proc/1/root",
            "NET_ADMIN",
        ] {
            assert!(POWER.contains(word), "{word}");
        }
    }

    #[test]
    fn another_namespace_is_neither_created_nor_described_as_created() {
        let mut spec = spec();
        spec.namespace = "default".into();
        assert!(!spec.creates_namespace());
        let kinds: Vec<Value> = spec.objects().iter().map(|o| o["kind"].clone()).collect();
        assert_eq!(kinds, ["ServiceAccount", "Pod"]);
        let yaml = spec.to_yaml();
        assert_eq!(parse(&yaml), spec.objects(), "{yaml}");
        assert!(
            yaml.contains("Namespace default must exist and admit privileged pods"),
            "{yaml}"
        );
    }

    #[test]
    fn no_node_means_no_node_name() {
        let mut spec = spec();
        spec.node = None;
        let pod = &parse(&spec.to_yaml())[2];
        assert!(pod["spec"].get("nodeName").is_none());
        assert_eq!(pod["metadata"]["name"], "ktui-helper");
    }
}
