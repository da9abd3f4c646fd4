//! Helper variants: the default helper (sockets) plus what a feature adds to it — capabilities,
//! host paths, a host path made writable, a size-limited scratch directory — each with the
//! reason the manifest's comments and the deploy confirmation show. A variant is one entry here ([`HelperVariant`] and its
//! [`VariantSpec`]); the manifest and the confirmation are built from it.
//!
//! A pod of any variant but the default records it: the label [`LABEL_VARIANT`] and the
//! annotation [`ANNOTATION_CAPABILITIES`] (every capability added after dropping ALL), so the
//! console can tell that a running helper lacks what a feature needs and offer to replace it.
//! The default pod carries neither (its manifest is unchanged): no label means the default.

use std::collections::BTreeMap;

use super::CAPABILITIES;

pub const LABEL_VARIANT: &str = "ktui.dev/variant";
pub const ANNOTATION_CAPABILITIES: &str = "ktui.dev/capabilities";

/// A host path: (volume name, path, hostPath type, why).
pub type HostPath = (&'static str, &'static str, &'static str, &'static str);

/// A writable emptyDir of the pod: (volume name, mount path, size limit, why).
pub type EmptyDir = (&'static str, &'static str, &'static str, &'static str);

/// Where the capture variants' helper writes pcap files (`$KTUI_CAPTURE_DIR` in the helper).
pub const CAPTURE_DIR: &str = "/var/run/ktui/captures";
/// The size limit of [`CAPTURE_DIR`] (the kubelet evicts the pod beyond it).
pub const CAPTURE_DIR_LIMIT: &str = "2Gi";

/// Which helper pod to deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum HelperVariant {
    /// Socket events, conntrack, logs, reading checkpoints: [`CAPABILITIES`] and the read-only
    /// host paths only.
    #[default]
    Sockets,
    /// Live snapshots of containers, and deleting a fetched checkpoint from the node.
    Snapshot,
    /// Packet capture on the host side of a pod's veth (NET_RAW), into a size-limited
    /// capture directory.
    Capture,
    /// Packet capture also inside a pod's network namespace (setns: SYS_ADMIN), for pods
    /// without a host veth (ipvlan, macvlan, some eBPF datapaths).
    CaptureNetns,
}

/// What a variant adds to the default helper.
#[derive(Debug)]
pub struct VariantSpec {
    /// The label value and the name users see (`--snapshot`).
    pub name: &'static str,
    /// What it is for, for the confirmation: "Added for ...".
    pub purpose: &'static str,
    /// Capabilities added to [`CAPABILITIES`], each with why (`NAME: ...`, like those).
    pub capabilities: &'static [(&'static str, &'static str)],
    /// Host paths mounted in addition to the default ones (read-only unless in `writable`).
    pub host_paths: &'static [HostPath],
    /// Volumes (by name) mounted read-write instead of read-only, with why.
    pub writable: &'static [(&'static str, &'static str)],
    /// Writable emptyDirs added to the pod (besides `/tmp`).
    pub empty_dirs: &'static [EmptyDir],
    /// What more the pod can do, said plainly (after the default helper's `POWER`).
    pub power: &'static str,
}

const SOCKETS: VariantSpec = VariantSpec {
    name: "sockets",
    purpose: "socket events",
    capabilities: &[],
    host_paths: &[],
    writable: &[],
    empty_dirs: &[],
    power: "",
};

const SNAPSHOT: VariantSpec = VariantSpec {
    name: "snapshot",
    purpose: "live snapshots",
    capabilities: &[
        (
            "DAC_READ_SEARCH",
            "DAC_READ_SEARCH: read other users' files for the live snapshot (the container's changed files in its overlay upper directory or under /proc/PID/root, whatever their owner and mode); it grants no write access.",
        ),
        (
            "SYSLOG",
            "SYSLOG: read /dev/kmsg for the container's kernel log lines in the live snapshot (OOM kills, segfaults of its processes).",
        ),
    ],
    host_paths: &[(
        "kmsg",
        "/dev/kmsg",
        "CharDevice",
        "The kernel log, read (never written) for the container's kernel log lines in a live snapshot; where the runtime's device rules refuse the device to a non-privileged pod, the helper reads the same log through syslog(2) (SYSLOG).",
    )],
    writable: &[(
        "checkpoints",
        "Read-write in the snapshot variant only: after a checkpoint archive was fetched and its SHA-256 verified, the console deletes it from the node when the user asks (it holds process memory and secrets).",
    )],
    empty_dirs: &[],
    power: "The snapshot variant also reads the memory of any process (with SYS_PTRACE), every \
        file on the node whatever its permissions (DAC_READ_SEARCH) and the kernel log (SYSLOG), \
        and has one host mount read-write: /var/lib/kubelet/checkpoints, where it can delete \
        files.",
};

const NET_RAW: (&str, &str) = (
    "NET_RAW",
    "NET_RAW: open an AF_PACKET socket on the host side of the pod's veth (the helper runs in the node's network namespace) to capture the pod's packets; raw sockets only, no network configuration.",
);

const CAPTURE_DIRS: &[EmptyDir] = &[(
    "captures",
    CAPTURE_DIR,
    CAPTURE_DIR_LIMIT,
    "Where the helper writes a capture's rotated pcap files (an emptyDir of at most 2Gi: the kubelet evicts the pod beyond it; the capture variants' only writable directory besides /tmp); the console fetches each file into the case, verifies its SHA-256 and deletes it here. It goes with the pod.",
)];

const CAPTURE_POWER: &str = "The capture variant also reads every packet on the node's \
    interfaces (NET_RAW in the host's network namespace), payloads included, and writes pcap \
    files to its own emptyDir, /var/run/ktui/captures (at most 2Gi).";

const CAPTURE: VariantSpec = VariantSpec {
    name: "capture",
    purpose: "packet capture",
    capabilities: &[NET_RAW],
    host_paths: &[],
    writable: &[],
    empty_dirs: CAPTURE_DIRS,
    power: CAPTURE_POWER,
};

const CAPTURE_NETNS: VariantSpec = VariantSpec {
    name: "capture-netns",
    purpose: "packet capture inside pod network namespaces",
    capabilities: &[
        NET_RAW,
        (
            "SYS_ADMIN",
            "SYS_ADMIN: setns(2) into a pod's network namespace (on a dedicated thread) where the pod has no host-side veth (ipvlan, macvlan, some eBPF datapaths), to open the capture socket there. SYS_ADMIN is broad (mounts, namespaces, much of the kernel's administration): use this variant only where the capture variant cannot reach the pod.",
        ),
    ],
    host_paths: &[],
    writable: &[],
    empty_dirs: CAPTURE_DIRS,
    power: "The capture-netns variant also reads every packet on the node's interfaces and in \
        any pod's network namespace (NET_RAW, and SYS_ADMIN to enter the namespace), payloads \
        included, writes pcap files to its own emptyDir, /var/run/ktui/captures (at most 2Gi), \
        and with SYS_ADMIN can mount, enter namespaces and administer much of the kernel.",
};

impl HelperVariant {
    /// Every variant, the default first.
    pub const ALL: [HelperVariant; 4] = [
        HelperVariant::Sockets,
        HelperVariant::Snapshot,
        HelperVariant::Capture,
        HelperVariant::CaptureNetns,
    ];

    pub fn spec(self) -> &'static VariantSpec {
        match self {
            HelperVariant::Sockets => &SOCKETS,
            HelperVariant::Snapshot => &SNAPSHOT,
            HelperVariant::Capture => &CAPTURE,
            HelperVariant::CaptureNetns => &CAPTURE_NETNS,
        }
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn is_default(self) -> bool {
        self == HelperVariant::default()
    }

    pub fn from_name(name: &str) -> Option<HelperVariant> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Every capability the pod adds after dropping ALL: the default ones, then this
    /// variant's, each with why.
    pub fn capabilities(self) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
        CAPABILITIES.iter().chain(self.spec().capabilities)
    }

    pub fn capability_names(self) -> Vec<&'static str> {
        self.capabilities().map(|(c, _)| *c).collect()
    }

    /// What this variant adds to the default helper, in one line for a message: `adds
    /// DAC_READ_SEARCH, SYSLOG; /dev/kmsg read-only; /var/lib/kubelet/checkpoints read-write`,
    /// `adds NET_RAW; /var/run/ktui/captures writable (emptyDir, 2Gi)`.
    pub fn additions_line(self) -> String {
        let spec = self.spec();
        if self.is_default() {
            return "the default helper: BPF, PERFMON, SYS_PTRACE, NET_ADMIN, read-only mounts"
                .to_string();
        }
        let mut parts = Vec::new();
        if !spec.capabilities.is_empty() {
            let caps: Vec<&str> = spec.capabilities.iter().map(|(c, _)| *c).collect();
            parts.push(caps.join(", "));
        }
        for (_, path, _, _) in spec.host_paths {
            parts.push(format!("{path} read-only"));
        }
        for (volume, _) in spec.writable {
            if let Some((_, path, _, _)) = self.host_paths().find(|(v, ..)| v == volume) {
                parts.push(format!("{path} read-write"));
            }
        }
        for (_, path, limit, _) in spec.empty_dirs {
            parts.push(format!("{path} writable (emptyDir, {limit})"));
        }
        format!("adds {}", parts.join("; "))
    }

    /// Every host path mounted: the default ones, then this variant's.
    pub fn host_paths(self) -> impl Iterator<Item = &'static HostPath> {
        super::HOST_PATHS.iter().chain(self.spec().host_paths)
    }

    /// Why the volume is writable in this variant; None: read-only.
    pub fn writable(self, volume: &str) -> Option<&'static str> {
        self.spec()
            .writable
            .iter()
            .find(|(v, _)| *v == volume)
            .map(|(_, why)| *why)
    }

    /// The capabilities a helper pod runs with, from its labels and annotations: the
    /// annotation when present, else its variant label's set, else the default set.
    pub fn running_capabilities(
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> Vec<String> {
        if let Some(list) = annotations.get(ANNOTATION_CAPABILITIES) {
            return list
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
        }
        let variant = labels
            .get(LABEL_VARIANT)
            .and_then(|v| HelperVariant::from_name(v))
            .unwrap_or_default();
        variant
            .capability_names()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// What this variant needs that a pod running with `running` lacks (empty: it will do).
    pub fn missing_from(self, running: &[String]) -> Vec<&'static str> {
        self.capability_names()
            .into_iter()
            .filter(|c| !running.iter().any(|r| r == c))
            .collect()
    }

    /// The added capabilities and mounts with their reasons, for the deploy confirmation
    /// (empty for the default helper).
    pub fn confirmation_lines(self) -> Vec<String> {
        let spec = self.spec();
        let mut out: Vec<String> = spec
            .capabilities
            .iter()
            .map(|(_, why)| (*why).to_string())
            .collect();
        out.extend(
            spec.host_paths
                .iter()
                .map(|(_, path, _, why)| format!("{path} (read-only): {why}")),
        );
        out.extend(spec.writable.iter().filter_map(|(volume, why)| {
            super::HOST_PATHS
                .iter()
                .chain(spec.host_paths)
                .find(|(name, ..)| name == volume)
                .map(|(_, path, ..)| format!("{path}: {why}"))
        }));
        out.extend(
            spec.empty_dirs
                .iter()
                .map(|(_, path, limit, why)| format!("{path} (emptyDir, {limit}): {why}")),
        );
        out
    }

    /// Each addition's reason cut to its first clause, for a short list: `NET_RAW: open an
    /// AF_PACKET socket on the host side of the pod's veth`.
    pub fn brief_lines(self) -> Vec<String> {
        let spec = self.spec();
        let mut out: Vec<String> = spec
            .capabilities
            .iter()
            .map(|(_, why)| briefly(why).to_string())
            .collect();
        out.extend(
            spec.host_paths
                .iter()
                .map(|(_, path, _, why)| format!("{path} (read-only): {}", briefly(why))),
        );
        out.extend(
            spec.empty_dirs.iter().map(|(_, path, limit, why)| {
                format!("{path} (emptyDir, {limit}): {}", briefly(why))
            }),
        );
        out
    }

    /// The writable emptyDirs this variant adds (besides `/tmp`).
    pub fn empty_dirs(self) -> &'static [EmptyDir] {
        self.spec().empty_dirs
    }
}

/// A reason's first clause: up to the first ` (`, `; ` or `. `.
pub fn briefly(why: &str) -> &str {
    let end = [" (", "; ", ". "]
        .iter()
        .filter_map(|sep| why.find(sep))
        .min()
        .unwrap_or(why.len());
    why[..end].trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::manifest::{HelperSpec, POWER};
    use serde_json::Value;

    fn spec(variant: HelperVariant) -> HelperSpec {
        HelperSpec {
            variant,
            created_by: "jane".into(),
            created_at: jiff::Timestamp::from_second(1_795_168_800).unwrap(),
            ..HelperSpec::new(Some("worker-1"))
        }
    }

    fn pod(spec: &HelperSpec) -> Value {
        let yaml = spec.to_yaml();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert_eq!(docs, spec.objects(), "the YAML is what is applied:\n{yaml}");
        docs.into_iter().find(|d| d["kind"] == "Pod").unwrap()
    }

    #[test]
    fn the_snapshot_manifest_parses_back_and_is_never_privileged() {
        let spec = spec(HelperVariant::Snapshot);
        let pod = pod(&spec);
        let c = &pod["spec"]["containers"][0];
        let sc = &c["securityContext"];
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(
            sc["capabilities"]["add"],
            serde_json::json!([
                "BPF",
                "PERFMON",
                "SYS_PTRACE",
                "NET_ADMIN",
                "DAC_READ_SEARCH",
                "SYSLOG"
            ])
        );
        assert_eq!(pod["metadata"]["labels"][LABEL_VARIANT], "snapshot");
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION_CAPABILITIES],
            "BPF,PERFMON,SYS_PTRACE,NET_ADMIN,DAC_READ_SEARCH,SYSLOG"
        );
        // What the pod records is what the console reads back from a running one.
        let to_map = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect()
        };
        let running = HelperVariant::running_capabilities(
            &to_map(&pod["metadata"]["labels"]),
            &to_map(&pod["metadata"]["annotations"]),
        );
        assert!(HelperVariant::Snapshot.missing_from(&running).is_empty());
    }

    #[test]
    fn snapshot_mounts_kmsg_read_only_and_only_the_checkpoints_read_write() {
        let pod = pod(&spec(HelperVariant::Snapshot));
        let volumes = pod["spec"]["volumes"].as_array().unwrap();
        let mounts = pod["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap();
        let kmsg = volumes.iter().find(|v| v["name"] == "kmsg").unwrap();
        assert_eq!(
            kmsg["hostPath"],
            serde_json::json!({"path": "/dev/kmsg", "type": "CharDevice"})
        );
        for v in volumes.iter().filter(|v| v.get("hostPath").is_some()) {
            let m = mounts.iter().find(|m| m["name"] == v["name"]).unwrap();
            assert_eq!(m["mountPath"], v["hostPath"]["path"]);
            let rw = v["hostPath"]["path"] == "/var/lib/kubelet/checkpoints";
            assert_eq!(m["readOnly"], !rw, "{m}");
        }
    }

    #[test]
    fn every_addition_is_justified_in_the_yaml() {
        let yaml = spec(HelperVariant::Snapshot).to_yaml();
        let lines: Vec<&str> = yaml.lines().collect();
        let above = |pred: &dyn Fn(&str) -> bool| {
            let at = lines.iter().position(|l| pred(l.trim())).unwrap();
            lines[at - 1].trim().to_string()
        };
        for (cap, why) in HelperVariant::Snapshot.spec().capabilities {
            assert_eq!(
                above(&|l: &str| l == format!("- {cap}")),
                format!("# {why}")
            );
        }
        let rw = above(&|l: &str| l == "- name: checkpoints");
        assert!(
            rw.starts_with("# Read-write in the snapshot variant only"),
            "{rw}"
        );
        // The volume (after the mounts) says why the device is there.
        let at = lines
            .iter()
            .rposition(|l| l.trim() == "- name: kmsg")
            .unwrap();
        assert!(lines[at - 1].contains("syslog(2)"), "{}", lines[at - 1]);
        assert!(
            yaml.contains(&format!("# What it can do: {POWER} The snapshot variant")),
            "{yaml}"
        );
        assert!(
            yaml.lines()
                .next()
                .unwrap()
                .contains("snapshot variant (adds DAC_READ_SEARCH, SYSLOG")
        );
        assert!(yaml.contains("read-only except /var/lib/kubelet/checkpoints"));
    }

    #[test]
    fn the_default_manifest_carries_no_variant() {
        let spec = spec(HelperVariant::Sockets);
        let pod = pod(&spec);
        assert!(pod["metadata"]["labels"].get(LABEL_VARIANT).is_none());
        assert!(
            pod["metadata"]["annotations"]
                .get(ANNOTATION_CAPABILITIES)
                .is_none()
        );
        assert!(
            pod["spec"]["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["name"] != "kmsg")
        );
        let yaml = spec.to_yaml();
        assert!(
            !yaml.contains("variant") && !yaml.contains("except"),
            "{yaml}"
        );
        let lines = crate::helper::manifest::describe("worker-1", "img", HelperVariant::Snapshot);
        assert!(
            lines[2].starts_with("Pod ktui-helper-worker-1 (snapshot variant) on node worker-1")
        );
    }

    #[test]
    fn capture_adds_net_raw_and_a_size_limited_capture_dir_only() {
        let spec = spec(HelperVariant::Capture);
        let pod = pod(&spec);
        let c = &pod["spec"]["containers"][0];
        let sc = &c["securityContext"];
        assert_eq!(sc["privileged"], false);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(
            sc["capabilities"]["add"],
            serde_json::json!(["BPF", "PERFMON", "SYS_PTRACE", "NET_ADMIN", "NET_RAW"])
        );
        assert_eq!(pod["metadata"]["labels"][LABEL_VARIANT], "capture");
        assert_eq!(
            pod["metadata"]["annotations"][ANNOTATION_CAPABILITIES],
            "BPF,PERFMON,SYS_PTRACE,NET_ADMIN,NET_RAW"
        );
        let volumes = pod["spec"]["volumes"].as_array().unwrap();
        let captures = volumes.iter().find(|v| v["name"] == "captures").unwrap();
        assert_eq!(
            captures["emptyDir"],
            serde_json::json!({"sizeLimit": "2Gi"})
        );
        let mounts = c["volumeMounts"].as_array().unwrap();
        let m = mounts.iter().find(|m| m["name"] == "captures").unwrap();
        assert_eq!(m["mountPath"], CAPTURE_DIR);
        assert!(m.get("readOnly").is_none() || m["readOnly"] == false, "{m}");
        // Every host path stays read-only: the capture directory is the pod's own.
        for v in volumes.iter().filter(|v| v.get("hostPath").is_some()) {
            let m = mounts.iter().find(|m| m["name"] == v["name"]).unwrap();
            assert_eq!(m["readOnly"], true, "{m}");
        }
        let yaml = spec.to_yaml();
        let lines: Vec<&str> = yaml.lines().collect();
        let at = lines.iter().position(|l| l.trim() == "- NET_RAW").unwrap();
        assert!(
            lines[at - 1].contains("# NET_RAW: open an AF_PACKET socket on the host side"),
            "{}",
            lines[at - 1]
        );
        let at = lines
            .iter()
            .position(|l| l.trim() == "- name: captures")
            .unwrap();
        assert!(
            lines[at - 1].contains("# Where the helper writes a capture's rotated pcap files"),
            "{}",
            lines[at - 1]
        );
        assert!(
            yaml.contains("Writes go to /tmp and /var/run/ktui/captures only"),
            "{yaml}"
        );
        assert!(
            yaml.lines()
                .next()
                .unwrap()
                .contains("capture variant (adds NET_RAW for packet capture)"),
            "{yaml}"
        );
        assert!(!yaml.contains("SYS_ADMIN"), "{yaml}");
    }

    #[test]
    fn capture_netns_adds_sys_admin_on_top_of_capture() {
        let n = HelperVariant::CaptureNetns;
        assert_eq!(
            n.capability_names(),
            [
                "BPF",
                "PERFMON",
                "SYS_PTRACE",
                "NET_ADMIN",
                "NET_RAW",
                "SYS_ADMIN"
            ]
        );
        assert_eq!(n.empty_dirs(), HelperVariant::Capture.empty_dirs());
        let why = n.confirmation_lines();
        assert!(why[0].starts_with("NET_RAW: "), "{why:?}");
        assert!(
            why[1].starts_with("SYS_ADMIN: setns(2) into a pod's network namespace"),
            "{why:?}"
        );
        assert!(why[1].contains("ipvlan, macvlan"), "{why:?}");
        assert!(why[2].starts_with("/var/run/ktui/captures (emptyDir, 2Gi): "));
        assert_eq!(
            n.additions_line(),
            "adds NET_RAW, SYS_ADMIN; /var/run/ktui/captures writable (emptyDir, 2Gi)"
        );
        assert_eq!(
            HelperVariant::Capture.additions_line(),
            "adds NET_RAW; /var/run/ktui/captures writable (emptyDir, 2Gi)"
        );
        // A capture-netns helper will do for a capture; a capture helper not for the fallback,
        // and neither for a snapshot (nor a snapshot helper for a capture).
        let names = |v: HelperVariant| -> Vec<String> {
            v.capability_names().into_iter().map(String::from).collect()
        };
        assert!(HelperVariant::Capture.missing_from(&names(n)).is_empty());
        assert_eq!(
            n.missing_from(&names(HelperVariant::Capture)),
            ["SYS_ADMIN"]
        );
        assert_eq!(
            HelperVariant::Capture.missing_from(&names(HelperVariant::Snapshot)),
            ["NET_RAW"]
        );
        let yaml = spec(n).to_yaml();
        assert!(yaml.contains("# SYS_ADMIN: setns(2)"), "{yaml}");
        assert!(yaml.contains("capture-netns variant"), "{yaml}");
    }

    #[test]
    fn brief_lines_keep_the_first_clause() {
        assert_eq!(
            HelperVariant::CaptureNetns.brief_lines(),
            [
                "NET_RAW: open an AF_PACKET socket on the host side of the pod's veth",
                "SYS_ADMIN: setns(2) into a pod's network namespace",
                "/var/run/ktui/captures (emptyDir, 2Gi): Where the helper writes a capture's rotated pcap files",
            ]
        );
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_round_trip_and_the_default_adds_nothing() {
        for v in HelperVariant::ALL {
            assert_eq!(HelperVariant::from_name(v.name()), Some(v));
        }
        assert_eq!(HelperVariant::from_name("nope"), None);
        let d = HelperVariant::default();
        assert!(d.is_default() && d.spec().capabilities.is_empty());
        assert!(d.spec().host_paths.is_empty() && d.spec().writable.is_empty());
        assert!(d.confirmation_lines().is_empty());
        assert_eq!(
            d.capability_names(),
            CAPABILITIES.iter().map(|(c, _)| *c).collect::<Vec<_>>()
        );
    }

    #[test]
    fn snapshot_adds_dac_read_search_syslog_kmsg_and_a_writable_checkpoint_dir() {
        let s = HelperVariant::Snapshot;
        assert_eq!(
            s.capability_names(),
            [
                "BPF",
                "PERFMON",
                "SYS_PTRACE",
                "NET_ADMIN",
                "DAC_READ_SEARCH",
                "SYSLOG"
            ]
        );
        for (cap, why) in s.spec().capabilities {
            assert!(
                why.starts_with(&format!("{cap}: ")) && why.len() > 40,
                "{cap}"
            );
        }
        let kmsg = s.host_paths().find(|h| h.1 == "/dev/kmsg").unwrap();
        assert_eq!(kmsg.2, "CharDevice");
        assert!(s.writable("checkpoints").is_some());
        assert!(s.writable("kmsg").is_none() && s.writable("cgroup").is_none());
        let lines = s.confirmation_lines();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[2].starts_with("/dev/kmsg (read-only): "));
        assert!(lines[3].starts_with("/var/lib/kubelet/checkpoints: Read-write"));
        for word in ["DAC_READ_SEARCH", "SYSLOG", "/var/lib/kubelet/checkpoints"] {
            assert!(s.spec().power.contains(word), "{word}");
        }
    }

    #[test]
    fn a_running_pod_says_what_it_has() {
        let none = BTreeMap::new();
        let default = HelperVariant::running_capabilities(&none, &none);
        assert!(HelperVariant::Sockets.missing_from(&default).is_empty());
        assert_eq!(
            HelperVariant::Snapshot.missing_from(&default),
            ["DAC_READ_SEARCH", "SYSLOG"]
        );
        let labelled = map(&[(LABEL_VARIANT, "snapshot")]);
        let snap = HelperVariant::running_capabilities(&labelled, &none);
        assert!(HelperVariant::Snapshot.missing_from(&snap).is_empty());
        assert!(HelperVariant::Sockets.missing_from(&snap).is_empty());
        // The annotation is what the pod was created with, whatever the label says.
        let annotated = map(&[(
            ANNOTATION_CAPABILITIES,
            "BPF, PERFMON,SYS_PTRACE,NET_ADMIN,SYSLOG",
        )]);
        let caps = HelperVariant::running_capabilities(&labelled, &annotated);
        assert_eq!(
            HelperVariant::Snapshot.missing_from(&caps),
            ["DAC_READ_SEARCH"]
        );
    }
}
