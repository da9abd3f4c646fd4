//! Pod UID and container id from a cgroup path (cgroup v1 or v2, systemd or cgroupfs driver,
//! containerd, CRI-O or docker ids). Pure string parsing.
//!
//! Layouts recognised (any prefix, e.g. `/sys/fs/cgroup`, `/sys/fs/cgroup/memory`, or
//! `kubelet.slice/kubelet-kubepods.slice` on kind):
//! - systemd: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`
//!   (also `kubepods-pod<uid>.slice` for Guaranteed, `crio-<id>.scope`, `docker-<id>.scope`)
//! - cgroupfs: `kubepods/burstable/pod<uid>/<id>` (and `kubepods/pod<uid>/<id>`)

/// What a cgroup path says about a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPod {
    pub pod_uid: String,
    /// Null for the pod-level cgroup, and for CRI-O's conmon scope.
    pub container_id: Option<String>,
}

fn is_uid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `pod<uid>` segment (cgroupfs) or `kubepods[-qos]-pod<uid_with_underscores>.slice` (systemd).
fn pod_uid_of(segment: &str) -> Option<String> {
    let rest = segment.strip_suffix(".slice").unwrap_or(segment);
    let idx = rest.rfind("pod")?;
    let prefix = &rest[..idx];
    if !(prefix.is_empty() || prefix.ends_with('-')) {
        return None;
    }
    let uid = rest[idx + 3..].replace('_', "-");
    is_uid(&uid).then_some(uid)
}

fn is_container_id(s: &str) -> bool {
    s.len() >= 12 && s.len() <= 128 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// `cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope` (systemd driver),
/// `crio-<id>` or a bare `<id>` (cgroupfs driver). CRI-O's `crio-conmon-<id>` is not a
/// container.
pub fn container_id_of(segment: &str) -> Option<String> {
    let name = segment.strip_suffix(".scope").unwrap_or(segment);
    if name.starts_with("crio-conmon-") {
        return None;
    }
    for prefix in ["cri-containerd-", "crio-", "docker-", "cri-dockerd-"] {
        if let Some(id) = name.strip_prefix(prefix) {
            return is_container_id(id).then(|| id.to_string());
        }
    }
    (name.len() == segment.len() && is_container_id(name)).then(|| name.to_string())
}

/// The pod (and container) a cgroup path belongs to, or None when it is not a pod's cgroup.
pub fn parse_path(path: &str) -> Option<CgroupPod> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let kube = segments.iter().position(|s| s.contains("kubepods"))?;
    for (i, seg) in segments.iter().enumerate().skip(kube) {
        if let Some(pod_uid) = pod_uid_of(seg) {
            let container_id = segments.get(i + 1).and_then(|s| container_id_of(s));
            return Some(CgroupPod {
                pod_uid,
                container_id,
            });
        }
    }
    None
}

/// The path of the first pod cgroup in a `/proc/<pid>/cgroup` file (v2 `0::/...` line or
/// any v1 controller line).
pub fn parse_proc_cgroup(content: &str) -> Option<CgroupPod> {
    content
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .find_map(parse_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "8a3f7c2e-1b4d-4e6f-9a0b-c1d2e3f4a5b6";
    const CID: &str = "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    #[test]
    fn systemd_containerd_burstable() {
        let p = format!(
            "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{CID}.scope",
            UID.replace('-', "_")
        );
        assert_eq!(
            parse_path(&p),
            Some(CgroupPod {
                pod_uid: UID.into(),
                container_id: Some(CID.into())
            })
        );
    }

    #[test]
    fn systemd_crio_guaranteed_and_conmon() {
        let base = format!(
            "/kubepods.slice/kubepods-pod{}.slice",
            UID.replace('-', "_")
        );
        let p = format!("{base}/crio-{CID}.scope");
        assert_eq!(parse_path(&p).unwrap().container_id.as_deref(), Some(CID));
        let conmon = format!("{base}/crio-conmon-{CID}.scope");
        assert_eq!(
            parse_path(&conmon),
            Some(CgroupPod {
                pod_uid: UID.into(),
                container_id: None
            })
        );
    }

    #[test]
    fn cgroupfs_layouts_v1_and_v2() {
        let v2 = format!("/sys/fs/cgroup/kubepods/burstable/pod{UID}/{CID}");
        assert_eq!(parse_path(&v2).unwrap().container_id.as_deref(), Some(CID));
        let v1 = format!("/sys/fs/cgroup/memory/kubepods/pod{UID}/{CID}");
        assert_eq!(parse_path(&v1).unwrap().pod_uid, UID);
        let crio = format!("/sys/fs/cgroup/kubepods/burstable/pod{UID}/crio-{CID}");
        assert_eq!(
            parse_path(&crio).unwrap().container_id.as_deref(),
            Some(CID)
        );
        let pod_level = format!("/kubepods/besteffort/pod{UID}");
        assert_eq!(parse_path(&pod_level).unwrap().container_id, None);
    }

    #[test]
    fn not_pods() {
        assert_eq!(
            parse_path("/sys/fs/cgroup/system.slice/containerd.service"),
            None
        );
        assert_eq!(
            parse_path("/user.slice/user-1000.slice/pod1234.slice"),
            None
        );
        assert_eq!(parse_path("/kubepods.slice/kubepods-burstable.slice"), None);
        assert_eq!(parse_path("/kubepods/burstable/podnot-a-uid/abc"), None);
    }

    #[test]
    fn proc_cgroup_file() {
        let v2 = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{CID}.scope\n",
            UID.replace('-', "_")
        );
        assert_eq!(parse_proc_cgroup(&v2).unwrap().pod_uid, UID);
        let v1 =
            format!("12:pids:/kubepods/pod{UID}/{CID}\n11:cpu,cpuacct:/kubepods/pod{UID}/{CID}\n");
        assert_eq!(
            parse_proc_cgroup(&v1).unwrap().container_id.as_deref(),
            Some(CID)
        );
        assert_eq!(parse_proc_cgroup("0::/init.scope\n"), None);
    }
}
