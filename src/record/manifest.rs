//! `ktui record manifest`: the objects that run ktui as the in-cluster forensics controller —
//! the Namespace when ktui owns it, a ServiceAccount, a PVC (or an emptyDir) for the case, the
//! minimal (Cluster)Roles and bindings for what the chosen flags do, and the Deployment running
//! `ktui --record`.
//!
//! Built as the helper manifest is (one typed tree per object, rendered to both JSON and
//! commented YAML by `helper::manifest::yaml`), so the printed YAML parses back to exactly
//! [`ControllerSpec::objects`]. Every interpolated value is validated first
//! ([`ControllerSpec::validate`]).

mod deployment;
pub mod rbac;

use serde_json::Value;

use crate::cluster::Scope;
use crate::helper::manifest::yaml::{Field, Item, Node, f, item, map, s, seq};
use crate::helper::manifest::{
    self as helper_manifest, LABEL_MANAGED_BY, LABEL_NAME, LABEL_VERSION, MANAGER, ManifestError,
    validate_image, validate_namespace,
};
use rbac::{EXEC_POWER, FoldedRule, Grants, Needs, PROXY_POWER, Place};

/// The controller's namespace unless `--controller-namespace` names another (the helper's).
pub const DEFAULT_NAMESPACE: &str = helper_manifest::DEFAULT_NAMESPACE;
/// Name of the ServiceAccount, Deployment, Roles and bindings (ClusterRoles add the namespace).
pub const NAME: &str = "ktui-controller";
/// The claim holding the case with `--pvc`.
pub const PVC_NAME: &str = "ktui-controller-case";
/// `--metrics-addr` unless given: every address, Prometheus' port range for exporters.
pub const DEFAULT_METRICS_ADDR: &str = ":9464";
/// The ktui binary inside the controller image (helper-image/Dockerfile.controller).
pub const BINARY: &str = "/ktui";
/// The case volume's mount point; the case directory is [`CASE_DIR`] inside it.
pub const DATA_DIR: &str = "/var/lib/ktui";
/// `--record DIR` of the controller.
pub const CASE_DIR: &str = "/var/lib/ktui/case";
/// The size limit of the case emptyDir without `--pvc`.
pub const EMPTY_DIR_LIMIT: &str = "4Gi";
/// The UID and GID the controller runs as (the image has no users: any non-root ID works).
pub const RUN_AS: u64 = 65532;

/// The default image: what `helper-image/build-image.sh --controller` tags (the helper image's
/// naming, `localhost/ktui-helper:<version>`).
pub fn default_image() -> String {
    format!("localhost/ktui-controller:{}", env!("CARGO_PKG_VERSION"))
}

/// What to run where, from `ktui record manifest`'s flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerSpec {
    /// Where the controller runs.
    pub namespace: String,
    /// What it watches (`-n NS` or `-A`).
    pub watch: Scope,
    pub image: String,
    pub s3: Option<String>,
    pub s3_endpoint: Option<String>,
    pub auto_clone: bool,
    pub sockets: bool,
    pub packets: bool,
    pub deploy_helper: bool,
    /// Act on `ktui.dev/checkpoint` (RBAC for the kubelet's checkpoint API).
    pub checkpoint: bool,
    /// `HOST:PORT` or `:PORT`.
    pub metrics_addr: String,
    /// A PersistentVolumeClaim of this size holds the case; `None`: an emptyDir.
    pub pvc: Option<String>,
    pub replicas: u32,
}

impl ControllerSpec {
    /// The defaults for watching `watch`: controller namespace `ktui-system`, the default
    /// image, metrics on `:9464`, an emptyDir, one replica, nothing optional.
    pub fn new(watch: Scope) -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_string(),
            watch,
            image: default_image(),
            s3: None,
            s3_endpoint: None,
            auto_clone: false,
            sockets: false,
            packets: false,
            deploy_helper: false,
            checkpoint: false,
            metrics_addr: DEFAULT_METRICS_ADDR.to_string(),
            pvc: None,
            replicas: 1,
        }
    }

    pub fn validate(&self) -> Result<(), ManifestError> {
        validate_namespace(&self.namespace)
            .map_err(|e| ManifestError(format!("--controller-namespace: {e}")))?;
        if let Scope::Namespace(ns) = &self.watch {
            validate_namespace(ns).map_err(|e| ManifestError(format!("-n: {e}")))?;
        }
        validate_image(&self.image).map_err(|_| {
            ManifestError(format!(
                "--image: invalid image reference {:?}: expected \
                 [registry/]repository[:tag][@digest], e.g. {}",
                self.image,
                default_image()
            ))
        })?;
        if let Some(uri) = &self.s3 {
            crate::bundle::s3::S3Target::parse(uri)
                .map_err(|e| ManifestError(format!("--s3: {e}")))?;
        }
        if let Some(url) = &self.s3_endpoint {
            validate_endpoint(url)?;
        }
        self.metrics_port()?;
        if let Some(size) = &self.pvc {
            validate_quantity(size)?;
        }
        if self.replicas == 0 {
            return Err(ManifestError(
                "--replicas must be at least 1 (to stop the controller, delete its Deployment)"
                    .to_string(),
            ));
        }
        if self.replicas > 1 && self.pvc.is_some() {
            return Err(ManifestError(format!(
                "--pvc with --replicas {}: one case directory cannot be shared (a ReadWriteOnce \
                 claim mounts on one node, and a case is held by one ktui at a time); use \
                 --replicas 1 with --pvc, or several replicas each with its own emptyDir case \
                 (and --s3 to keep their bundles)",
                self.replicas
            )));
        }
        if self.deploy_helper && !self.uses_helper() {
            return Err(ManifestError(
                "--deploy-helper deploys the node helper for --sockets or --packets: add one of \
                 them, or leave --deploy-helper out"
                    .to_string(),
            ));
        }
        Ok(())
    }

    /// Whether the controller reaches node helpers (socket events, packet captures).
    pub fn uses_helper(&self) -> bool {
        self.sockets || self.packets
    }

    /// The metrics port, from `--metrics-addr`; only addresses a probe and Prometheus reach
    /// on the pod's IP are accepted.
    pub fn metrics_port(&self) -> Result<u16, ManifestError> {
        let addr = &self.metrics_addr;
        let bad = |why: &str| {
            ManifestError(format!(
                "--metrics-addr {addr:?}: {why} (expected :PORT, 0.0.0.0:PORT or [::]:PORT, e.g. \
                 {DEFAULT_METRICS_ADDR})"
            ))
        };
        let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?;
        match host {
            "" | "0.0.0.0" | "[::]" => Ok(port),
            _ => Err(bad(
                "in a pod it must listen on every address: the kubelet's probes and Prometheus \
                 connect to the pod's IP",
            )),
        }
    }

    /// What the rules are derived from.
    fn needs(&self) -> Needs<'_> {
        Needs {
            watch: &self.watch,
            controller_namespace: &self.namespace,
            helper_namespace: helper_manifest::DEFAULT_NAMESPACE,
            auto_clone: self.auto_clone,
            checkpoint: self.checkpoint,
            uses_helper: self.uses_helper(),
            deploy_helper: self.deploy_helper,
        }
    }

    /// The permissions the flags call for.
    pub fn grants(&self) -> Grants {
        rbac::grants(&self.needs())
    }

    fn labels(&self) -> Vec<Field> {
        vec![
            f(LABEL_NAME, s(NAME)),
            f(LABEL_MANAGED_BY, s(MANAGER)),
            f(LABEL_VERSION, s(env!("CARGO_PKG_VERSION"))),
        ]
    }

    fn metadata(&self, name: &str, namespace: Option<&str>) -> Node {
        let mut fields = vec![f("name", s(name))];
        if let Some(ns) = namespace {
            fields.push(f("namespace", s(ns)));
        }
        fields.push(f("labels", map(self.labels())));
        map(fields)
    }

    /// The namespaces this manifest creates: the controller's when it is ktui's own, and the
    /// helper's when it deploys helpers there.
    fn created_namespaces(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if self.namespace == DEFAULT_NAMESPACE {
            out.push(self.namespace.as_str());
        }
        let helper = helper_manifest::DEFAULT_NAMESPACE;
        if self.deploy_helper && !out.contains(&helper) {
            out.push(helper);
        }
        out
    }

    fn namespace_node(&self, name: &str) -> Node {
        let mut labels = vec![f(LABEL_MANAGED_BY, s(MANAGER))];
        if self.deploy_helper && name == helper_manifest::DEFAULT_NAMESPACE {
            labels.push(
                f("pod-security.kubernetes.io/enforce", s("privileged")).note(
                    "--deploy-helper: the helper pods need host namespaces, hostPath volumes and \
                 added capabilities, which only the Pod Security \"privileged\" level admits.",
                ),
            );
            labels.push(f("pod-security.kubernetes.io/audit", s("privileged")));
            labels.push(f("pod-security.kubernetes.io/warn", s("privileged")));
        }
        map(vec![
            f("apiVersion", s("v1")),
            f("kind", s("Namespace")),
            f(
                "metadata",
                map(vec![f("name", s(name)), f("labels", map(labels))]),
            ),
        ])
    }

    fn service_account_node(&self) -> Node {
        map(vec![
            f("apiVersion", s("v1")),
            f("kind", s("ServiceAccount")),
            f("metadata", self.metadata(NAME, Some(&self.namespace))).note(
                "The controller's identity: the Roles below are bound to it. With --s3 on EKS or \
                 GKE, annotate it for IRSA / Workload Identity instead of a key Secret.",
            ),
        ])
    }

    fn pvc_node(&self, size: &str) -> Node {
        map(vec![
            f("apiVersion", s("v1")),
            f("kind", s("PersistentVolumeClaim")),
            f("metadata", self.metadata(PVC_NAME, Some(&self.namespace))),
            f(
                "spec",
                map(vec![
                    f("accessModes", seq(vec![item(s("ReadWriteOnce"))])).note(
                        "One controller holds the case at a time (the Deployment recreates, never \
                         overlaps, its pod).",
                    ),
                    f(
                        "resources",
                        map(vec![f("requests", map(vec![f("storage", s(size))]))]),
                    ),
                ]),
            ),
        ])
    }

    fn rule_item(rule: &FoldedRule) -> Item {
        let mut fields = vec![
            f("apiGroups", seq(vec![item(s(rule.group))])),
            f(
                "resources",
                seq(rule.resources.iter().map(|r| item(s(*r))).collect()),
            ),
        ];
        if !rule.names.is_empty() {
            fields.push(f(
                "resourceNames",
                seq(rule.names.iter().map(|n| item(s(n))).collect()),
            ));
        }
        fields.push(f(
            "verbs",
            seq(rule.verbs.iter().map(|v| item(s(*v))).collect()),
        ));
        item(map(fields)).note(&rule.why.join(" "))
    }

    fn cluster_role_name(&self) -> String {
        format!("{NAME}-{}", self.namespace)
    }

    fn role_nodes(&self, grants: &Grants) -> Vec<Node> {
        let subject = || {
            seq(vec![item(map(vec![
                f("kind", s("ServiceAccount")),
                f("name", s(NAME)),
                f("namespace", s(&self.namespace)),
            ]))])
        };
        let rbac = "rbac.authorization.k8s.io/v1";
        let mut nodes = Vec::new();
        for place in grants.places.keys() {
            let rules = grants.folded(place);
            let (kind, binding, name, namespace) = match place {
                Place::Cluster => (
                    "ClusterRole",
                    "ClusterRoleBinding",
                    self.cluster_role_name(),
                    None,
                ),
                Place::Namespace(ns) => {
                    ("Role", "RoleBinding", NAME.to_string(), Some(ns.as_str()))
                }
            };
            nodes.push(map(vec![
                f("apiVersion", s(rbac)),
                f("kind", s(kind)),
                f("metadata", self.metadata(&name, namespace)),
                f("rules", seq(rules.iter().map(Self::rule_item).collect())),
            ]));
            nodes.push(map(vec![
                f("apiVersion", s(rbac)),
                f("kind", s(binding)),
                f("metadata", self.metadata(&name, namespace)),
                f(
                    "roleRef",
                    map(vec![
                        f("apiGroup", s("rbac.authorization.k8s.io")),
                        f("kind", s(kind)),
                        f("name", s(&name)),
                    ]),
                ),
                f("subjects", subject()),
            ]));
        }
        nodes
    }

    fn nodes(&self) -> Vec<Node> {
        let mut nodes: Vec<Node> = self
            .created_namespaces()
            .into_iter()
            .map(|ns| self.namespace_node(ns))
            .collect();
        nodes.push(self.service_account_node());
        if let Some(size) = &self.pvc {
            nodes.push(self.pvc_node(size));
        }
        nodes.extend(self.role_nodes(&self.grants()));
        nodes.push(self.deployment_node());
        nodes
    }

    /// The objects in the order to apply them (namespaces, identity, storage, permissions,
    /// then the Deployment, so its pod starts with everything it needs).
    pub fn objects(&self) -> Vec<Value> {
        self.nodes().iter().map(Node::to_json).collect()
    }

    /// The objects as commented YAML documents.
    pub fn to_yaml(&self) -> String {
        crate::helper::manifest::yaml::documents(&self.header(), &self.nodes())
    }

    fn header(&self) -> Vec<String> {
        let scope = match &self.watch {
            Scope::All => "every namespace".to_string(),
            Scope::Namespace(ns) => format!("namespace {ns}"),
        };
        let grants = self.grants();
        let mut lines = vec![
            format!(
                "ktui forensics controller: watches the pods of {scope} from namespace {}, \
                 preserves every new crash into the case {CASE_DIR} and serves Prometheus metrics \
                 on {} (/metrics, /healthz).",
                self.namespace, self.metrics_addr
            ),
            format!(
                "Apply: `ktui record manifest ... | kubectl apply -f -`; remove: the same output \
                 into `kubectl delete -f -`. Image {}: build it with `helper-image/build-image.sh \
                 --controller` and push it where the nodes pull from (or load it on them).",
                self.image
            ),
            "Permissions: only what the chosen flags do, every verb and resource named (no \
             wildcard); each rule says why."
                .to_string(),
        ];
        let exec = grants.grants("pods/exec");
        let proxy = grants.grants("nodes/proxy");
        if exec {
            lines.push(EXEC_POWER.to_string());
        }
        if proxy {
            lines.push(PROXY_POWER.to_string());
        }
        if !exec && !proxy {
            lines.push(
                "It grants neither pods/exec nor nodes/proxy: --sockets/--packets and \
                 --checkpoint would, and either makes the role close to cluster-admin."
                    .to_string(),
            );
        }
        if self.namespace != DEFAULT_NAMESPACE {
            lines.push(format!(
                "Namespace {} must exist; ktui does not create or change it.",
                self.namespace
            ));
        }
        if self.uses_helper() && !self.deploy_helper {
            lines.push(format!(
                "Without --deploy-helper the node helpers must already run in {} (`ktui helper \
                 manifest`); the controller never deploys one silently.",
                helper_manifest::DEFAULT_NAMESPACE
            ));
        }
        if self.pvc.is_none() {
            lines.push(format!(
                "The case lives in an emptyDir (at most {EMPTY_DIR_LIMIT}): it goes with the pod; \
                 keep it with --pvc SIZE, or ship each bundle with --s3."
            ));
        }
        lines
    }
}

/// An S3-compatible endpoint: `http(s)://host[:port][/path]`, no spaces or control characters.
fn validate_endpoint(url: &str) -> Result<(), ManifestError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && r.chars().all(|c| c.is_ascii_graphic())
    });
    if ok {
        return Ok(());
    }
    Err(ManifestError(format!(
        "--s3-endpoint {url:?}: expected http(s)://HOST[:PORT], e.g. http://minio.storage:9000"
    )))
}

/// A storage size as Kubernetes writes quantities: a number and a binary or decimal suffix.
fn validate_quantity(size: &str) -> Result<(), ManifestError> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = size.get(digits.len()..).unwrap_or_default();
    let number_ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && !digits.starts_with('.')
        && !digits.ends_with('.')
        && digits.chars().any(|c| c != '0' && c != '.');
    let suffix_ok = [
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
    ]
    .contains(&suffix);
    if number_ok && suffix_ok {
        return Ok(());
    }
    Err(ManifestError(format!(
        "--pvc {size:?}: expected a storage size such as 10Gi or 500Mi"
    )))
}

#[cfg(test)]
mod tests;
