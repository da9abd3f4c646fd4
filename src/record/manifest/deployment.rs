//! The controller's Deployment: `ktui --record` with the chosen flags, as unprivileged as the
//! image allows (non-root, no capabilities, read-only root filesystem, the runtime's seccomp
//! profile), probed on `/healthz`, its pod name from the downward API as the Lease identity.

use super::{
    BINARY, CASE_DIR, ControllerSpec, DATA_DIR, EMPTY_DIR_LIMIT, NAME, PVC_NAME, RUN_AS,
    default_image,
};
use crate::cluster::Scope;
use crate::helper::manifest::yaml::{Item, Node, b, f, item, map, num, s, seq};
use crate::helper::manifest::{DEFAULT_IMAGE_ARCH, LABEL_NAME};

/// The Secret whose keys become the controller's environment with `--s3` (optional: without it
/// the pod starts and uses the rest of the AWS credential chain).
pub const S3_SECRET: &str = "ktui-controller-s3";
/// How long a stopping controller has to seal the case, sign the bundle and upload it.
pub const GRACE_SECS: u64 = 120;

impl ControllerSpec {
    /// The case id: one case per pod with an emptyDir (each pod's bundle is its own), one
    /// case kept across restarts with `--pvc`.
    fn case_id(&self) -> String {
        match &self.pvc {
            Some(_) => NAME.to_string(),
            // Kubernetes substitutes $(VAR) in args from the container's env.
            None => "$(POD_NAME)".to_string(),
        }
    }

    /// The container's arguments after [`BINARY`]: `--record DIR`, the watch scope, the case,
    /// the chosen flags, `--metrics-addr`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["--record".to_string(), CASE_DIR.to_string()];
        match &self.watch {
            Scope::All => args.push("-A".to_string()),
            Scope::Namespace(ns) => args.extend(["-n".to_string(), ns.clone()]),
        }
        args.extend(["--case".to_string(), self.case_id()]);
        for (on, flag) in [
            (self.sockets, "--sockets"),
            (self.packets, "--packets"),
            (self.deploy_helper, "--deploy-helper"),
            (self.auto_clone, "--auto-clone"),
        ] {
            if on {
                args.push(flag.to_string());
            }
        }
        for (value, flag) in [(&self.s3, "--s3"), (&self.s3_endpoint, "--s3-endpoint")] {
            if let Some(v) = value {
                args.extend([flag.to_string(), v.clone()]);
            }
        }
        args.extend(["--metrics-addr".to_string(), self.metrics_addr.clone()]);
        args
    }

    pub(super) fn deployment_node(&self) -> Node {
        let selector = vec![f(LABEL_NAME, s(NAME))];
        let strategy = if self.pvc.is_some() {
            f("strategy", map(vec![f("type", s("Recreate"))])).note(
                "Recreate: the old pod lets go of the claim and the case before the new one \
                 opens them.",
            )
        } else {
            f("strategy", map(vec![f("type", s("RollingUpdate"))]))
        };
        let port = self.metrics_port().unwrap_or(9464);
        let mut annotations = vec![
            f("prometheus.io/scrape", s("true")),
            f("prometheus.io/port", s(port.to_string())),
            f("prometheus.io/path", s("/metrics")),
        ];
        annotations.push(f("kubectl.kubernetes.io/default-container", s("ktui")));
        let mut pod_spec = vec![
            f("serviceAccountName", s(NAME)),
            f("automountServiceAccountToken", b(true))
                .note("ktui talks to the API server with this ServiceAccount's token (in-cluster config)."),
            f("enableServiceLinks", b(false)),
            f("terminationGracePeriodSeconds", num(GRACE_SECS)).note(
                "On SIGTERM ktui stops its streams, writes summary.json, signs the bundle and \
                 (with --s3) uploads it: give it time.",
            ),
            f(
                "securityContext",
                map(vec![
                    f("runAsNonRoot", b(true)),
                    f("runAsUser", num(RUN_AS)),
                    f("runAsGroup", num(RUN_AS)),
                    f("fsGroup", num(RUN_AS)).note("The case volume is writable by that group."),
                    f("seccompProfile", map(vec![f("type", s("RuntimeDefault"))])),
                ]),
            ),
        ];
        let mut node_selector = vec![f("kubernetes.io/os", s("linux"))];
        if self.image == default_image() {
            node_selector.push(
                f("kubernetes.io/arch", s(DEFAULT_IMAGE_ARCH))
                    .note("build-image.sh builds the default image for this architecture only."),
            );
        }
        pod_spec.push(f("nodeSelector", map(node_selector)));
        pod_spec.push(f("containers", seq(vec![item(self.container_node(port))])));
        pod_spec.push(f("volumes", seq(self.volumes())));
        map(vec![
            f("apiVersion", s("apps/v1")),
            f("kind", s("Deployment")),
            f("metadata", self.metadata(NAME, Some(&self.namespace))),
            f(
                "spec",
                map(vec![
                    f("replicas", num(u64::from(self.replicas))).note(
                        "More than one: only the holder of the Lease acts, the others wait and \
                         take over (a new holder resumes from the clones already made).",
                    ),
                    strategy,
                    f("selector", map(vec![f("matchLabels", map(selector))])),
                    f(
                        "template",
                        map(vec![
                            f(
                                "metadata",
                                map(vec![
                                    f("labels", map(self.labels())),
                                    f("annotations", map(annotations)),
                                ]),
                            ),
                            f("spec", map(pod_spec)),
                        ]),
                    ),
                ]),
            ),
        ])
    }

    fn container_node(&self, port: u16) -> Node {
        let probe = |period: u64, failures: u64| {
            map(vec![
                f(
                    "httpGet",
                    map(vec![f("path", s("/healthz")), f("port", s("metrics"))]),
                ),
                f("periodSeconds", num(period)),
                f("timeoutSeconds", num(5)),
                f("failureThreshold", num(failures)),
            ])
        };
        let mut container = vec![
            f("name", s("ktui")),
            f("image", s(&self.image)),
            f("imagePullPolicy", s("IfNotPresent")),
            f("command", seq(vec![item(s(BINARY))])),
            f(
                "args",
                seq(self.args().into_iter().map(|a| item(s(a))).collect()),
            ),
            f("env", seq(self.env())),
        ];
        if self.s3.is_some() {
            container.push(
                f(
                    "envFrom",
                    seq(vec![item(map(vec![f(
                        "secretRef",
                        map(vec![f("name", s(S3_SECRET)), f("optional", b(true))]),
                    )]))]),
                )
                .note(&format!(
                    "--s3 credentials and region, if not from the ServiceAccount (IRSA, pod \
                     identity): `kubectl create secret generic {S3_SECRET} -n {} \
                     --from-literal=AWS_ACCESS_KEY_ID=... --from-literal=AWS_SECRET_ACCESS_KEY=... \
                     --from-literal=AWS_REGION=...`.",
                    self.namespace
                )),
            );
        }
        container.extend([
            f(
                "ports",
                seq(vec![item(map(vec![
                    f("name", s("metrics")),
                    f("containerPort", num(u64::from(port))),
                    f("protocol", s("TCP")),
                ]))]),
            ),
            f("readinessProbe", probe(10, 3)),
            f("livenessProbe", probe(20, 3)).note(
                "/healthz is 503 only when the run cannot go on (its case cannot be written); a \
                 replica waiting for the Lease is healthy.",
            ),
            f(
                "resources",
                map(vec![
                    f(
                        "requests",
                        map(vec![f("cpu", s("100m")), f("memory", s("128Mi"))]),
                    ),
                    f("limits", map(vec![f("memory", s("512Mi"))])),
                ]),
            ),
            f(
                "securityContext",
                map(vec![
                    f("allowPrivilegeEscalation", b(false)),
                    f("privileged", b(false)),
                    f("readOnlyRootFilesystem", b(true)),
                    f(
                        "capabilities",
                        map(vec![f("drop", seq(vec![item(s("ALL"))]))]),
                    ),
                ]),
            )
            .note("Nothing but the case volume and /tmp is writable; no capability is kept."),
            f(
                "volumeMounts",
                seq(vec![
                    item(map(vec![f("name", s("case")), f("mountPath", s(DATA_DIR))])),
                    item(map(vec![f("name", s("tmp")), f("mountPath", s("/tmp"))])),
                ]),
            ),
        ]);
        map(container)
    }

    fn env(&self) -> Vec<Item> {
        let field = |name: &str, path: &str| {
            item(map(vec![
                f("name", s(name)),
                f(
                    "valueFrom",
                    map(vec![f("fieldRef", map(vec![f("fieldPath", s(path))]))]),
                ),
            ]))
        };
        let value = |name: &str, v: &str| item(map(vec![f("name", s(name)), f("value", s(v))]));
        vec![
            value("KTUI_CONTROLLER", "1").note(
                "Controller mode: only the holder of the Lease ktui-controller records, and it \
                 acts on the ktui.dev/ annotations of the pods it watches.",
            ),
            field("POD_NAME", "metadata.name")
                .note("The Lease holder's identity (and the case id without --pvc)."),
            field("POD_NAMESPACE", "metadata.namespace")
                .note("Where the Lease is (the controller's namespace)."),
            value("HOME", DATA_DIR),
            value("XDG_CONFIG_HOME", &format!("{DATA_DIR}/config")).note(
                "ktui's config dir, the signing key's default place (ktui.key, created on first \
                 use), on the case volume: the root filesystem is read-only.",
            ),
            value("XDG_STATE_HOME", &format!("{DATA_DIR}/state")),
            value("KTUI_LOG", "info").note("Record mode logs to stderr: `kubectl logs`."),
        ]
    }

    fn volumes(&self) -> Vec<Item> {
        let case = match &self.pvc {
            Some(_) => item(map(vec![
                f("name", s("case")),
                f(
                    "persistentVolumeClaim",
                    map(vec![f("claimName", s(PVC_NAME))]),
                ),
            ]))
            .note("--pvc: the case outlives the pod."),
            None => item(map(vec![
                f("name", s("case")),
                f("emptyDir", map(vec![f("sizeLimit", s(EMPTY_DIR_LIMIT))])),
            ]))
            .note(
                "No --pvc: the case lives as long as the pod (the kubelet evicts the pod past the \
                 limit).",
            ),
        };
        vec![
            case,
            item(map(vec![
                f("name", s("tmp")),
                f("emptyDir", map(vec![f("sizeLimit", s("256Mi"))])),
            ]))
            .note("Scratch space; the root filesystem is read-only."),
        ]
    }
}
