//! Resolution on constructed directory trees that mirror real kubepods layouts. The cgroup id
//! of a directory is its inode number, as on cgroup v2.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

const UID1: &str = "11111111-2222-4333-8444-555555555555";
const UID2: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const UID3: &str = "0f0f0f0f-1e1e-4d2d-9c3c-4b4b4b4b4b4b";

fn cid(n: u8) -> String {
    format!("{n:x}").repeat(64).chars().take(64).collect()
}

struct Tree {
    _dir: tempfile::TempDir,
    roots: Roots,
}

fn mkdir(p: &Path) -> u64 {
    fs::create_dir_all(p).unwrap();
    fs::metadata(p).unwrap().ino()
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let roots = Roots {
        cgroup: base.join("cgroup"),
        pod_logs: base.join("log/pods"),
        container_logs: base.join("log/containers"),
        proc: base.join("proc"),
        require_cgroup2: false,
        ..Roots::default()
    };
    fs::create_dir_all(&roots.cgroup).unwrap();
    fs::create_dir_all(&roots.container_logs).unwrap();
    fs::create_dir_all(roots.proc.join("1/ns")).unwrap();
    fs::write(roots.proc.join("1/ns/net"), "host netns").unwrap();
    Tree { _dir: dir, roots }
}

fn pod_logs(t: &Tree, ns: &str, pod: &str, uid: &str, containers: &[&str]) {
    for c in containers {
        let d = t.roots.pod_logs.join(format!("{ns}_{pod}_{uid}")).join(c);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("0.log"), "").unwrap();
    }
}

fn container_log(t: &Tree, ns: &str, pod: &str, container: &str, id: &str) {
    fs::write(
        t.roots
            .container_logs
            .join(format!("{pod}_{ns}_{container}-{id}.log")),
        "",
    )
    .unwrap();
}

fn systemd_containerd(t: &Tree, uid: &str, id: &str) -> PathBuf {
    t.roots.cgroup.join(format!(
        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/cri-containerd-{id}.scope",
        uid.replace('-', "_")
    ))
}

#[test]
fn systemd_containerd_with_container_log_symlink() {
    let t = tree();
    let id = cid(1);
    let cg = mkdir(&systemd_containerd(&t, UID1, &id));
    pod_logs(&t, "shop", "checkout-7d9f", UID1, &["app", "istio-proxy"]);
    container_log(&t, "shop", "checkout-7d9f", "app", &id);
    let mut r = Resolver::new(t.roots.clone());
    let got = r.by_cgroup_id(cg, Instant::now()).unwrap();
    assert_eq!(
        got,
        Identity {
            pod_uid: UID1.into(),
            namespace: Some("shop".into()),
            pod: Some("checkout-7d9f".into()),
            container: Some("app".into()),
            container_id: Some(id),
        }
    );
    let wire = got.to_wire();
    assert_eq!(wire.pod_uid.as_deref(), Some(UID1));
}

#[test]
fn systemd_crio_guaranteed_multi_container_without_symlink_is_not_guessed() {
    let t = tree();
    let id = cid(2);
    let cg = mkdir(&t.roots.cgroup.join(format!(
        "kubepods.slice/kubepods-pod{}.slice/crio-{id}.scope",
        UID2.replace('-', "_")
    )));
    mkdir(&t.roots.cgroup.join(format!(
        "kubepods.slice/kubepods-pod{}.slice/crio-conmon-{id}.scope",
        UID2.replace('-', "_")
    )));
    pod_logs(&t, "db", "postgres-0", UID2, &["postgres", "exporter"]);
    let mut r = Resolver::new(t.roots.clone());
    let got = r.by_cgroup_id(cg, Instant::now()).unwrap();
    assert_eq!(got.namespace.as_deref(), Some("db"));
    assert_eq!(got.pod.as_deref(), Some("postgres-0"));
    assert_eq!(
        got.container, None,
        "two containers and no symlink: never a guess"
    );
    assert_eq!(got.container_id.as_deref(), Some(id.as_str()));
}

#[test]
fn cgroupfs_containerd_single_container_and_crio_cgroupfs() {
    let t = tree();
    let id = cid(3);
    let cg = mkdir(
        &t.roots
            .cgroup
            .join(format!("kubepods/burstable/pod{UID3}/{id}")),
    );
    pod_logs(&t, "kube-system", "coredns-abc", UID3, &["coredns"]);
    let crio = cid(4);
    let cg2 = mkdir(
        &t.roots
            .cgroup
            .join(format!("kubepods/besteffort/pod{UID1}/crio-{crio}")),
    );
    let mut r = Resolver::new(t.roots.clone());
    let got = r.by_cgroup_id(cg, Instant::now()).unwrap();
    assert_eq!(
        got.container.as_deref(),
        Some("coredns"),
        "the only container of the pod"
    );
    assert_eq!(got.namespace.as_deref(), Some("kube-system"));
    let got2 = r.by_cgroup_id(cg2, Instant::now()).unwrap();
    assert_eq!(got2.pod_uid, UID1);
    assert_eq!(got2.container_id.as_deref(), Some(crio.as_str()));
    assert_eq!(
        got2.namespace, None,
        "no log directory: names unknown, uid still known"
    );
}

#[test]
fn not_a_pod_and_unknown_ids_are_none() {
    let t = tree();
    let sys = mkdir(&t.roots.cgroup.join("system.slice/containerd.service"));
    let pod_level = mkdir(&t.roots.cgroup.join(format!("kubepods/pod{UID1}")));
    let mut r = Resolver::new(t.roots.clone());
    let now = Instant::now();
    assert_eq!(r.by_cgroup_id(sys, now), None);
    assert_eq!(r.by_cgroup_id(123_456_789, now), None);
    let p = r.by_cgroup_id(pod_level, now).unwrap();
    assert_eq!(p.container_id, None);
}

#[test]
fn crash_looping_container_is_found_within_the_negative_ttl() {
    let t = tree();
    let first = cid(5);
    let cg1 = mkdir(&systemd_containerd(&t, UID1, &first));
    pod_logs(&t, "shop", "worker", UID1, &["worker"]);
    let mut r = Resolver::new(t.roots.clone());
    let t0 = Instant::now();
    assert!(r.by_cgroup_id(cg1, t0).is_some());

    // The container restarts: old cgroup gone, a new one (new id) appears right after the
    // resolver last indexed the tree.
    // (New directory first: a test filesystem may reuse a freed inode, a cgroup v2 id never
    // is.)
    let second = cid(6);
    let cg2 = mkdir(&systemd_containerd(&t, UID1, &second));
    fs::remove_dir_all(systemd_containerd(&t, UID1, &first)).unwrap();
    // An event with the new id: not indexed yet, and the tree was walked <2 s ago.
    assert_eq!(r.by_cgroup_id(cg2, t0 + Duration::from_millis(100)), None);
    // The failure is remembered, but only briefly ...
    assert_eq!(r.by_cgroup_id(cg2, t0 + Duration::from_millis(1500)), None);
    // ... so 2 s later the new container resolves.
    let later = t0 + Duration::from_millis(2200);
    let got = r
        .by_cgroup_id(cg2, later)
        .expect("resolved after the negative TTL");
    assert_eq!(got.container_id.as_deref(), Some(second.as_str()));
    assert_eq!(got.container.as_deref(), Some("worker"));
}

#[test]
fn by_pid_through_proc_cgroup_v1() {
    let t = tree();
    let id = cid(7);
    fs::create_dir_all(t.roots.proc.join("4242")).unwrap();
    fs::write(
        t.roots.proc.join("4242/cgroup"),
        format!("12:memory:/kubepods/burstable/pod{UID2}/{id}\n11:cpu,cpuacct:/kubepods/burstable/pod{UID2}/{id}\n"),
    )
    .unwrap();
    pod_logs(&t, "db", "redis-0", UID2, &["redis"]);
    let mut r = Resolver::new(t.roots.clone());
    let got = r
        .resolve(Some(999), Some(4242), None, Instant::now())
        .unwrap();
    assert_eq!(got.pod.as_deref(), Some("redis-0"));
    assert_eq!(got.container.as_deref(), Some("redis"));
    assert_eq!(r.resolve(None, Some(1), None, Instant::now()), None);
}

#[test]
fn netns_maps_to_the_pod_but_never_the_host() {
    let t = tree();
    let id = cid(8);
    let dir = systemd_containerd(&t, UID3, &id);
    mkdir(&dir);
    fs::write(dir.join("cgroup.procs"), "777\n").unwrap();
    fs::create_dir_all(t.roots.proc.join("777/ns")).unwrap();
    fs::write(t.roots.proc.join("777/ns/net"), "pod netns").unwrap();
    let pod_netns = fs::metadata(t.roots.proc.join("777/ns/net")).unwrap().ino();
    let host_netns = fs::metadata(t.roots.proc.join("1/ns/net")).unwrap().ino();
    pod_logs(&t, "web", "nginx-1", UID3, &["nginx"]);
    let mut r = Resolver::new(t.roots.clone());
    let got = r
        .resolve(None, None, Some(pod_netns), Instant::now())
        .unwrap();
    assert_eq!(got.pod.as_deref(), Some("nginx-1"));
    assert_eq!(
        got.container, None,
        "a netns is the pod's, not a container's"
    );
    assert_eq!(
        r.resolve(None, None, Some(host_netns), Instant::now()),
        None
    );
}

#[test]
fn a_pod_subscription_narrows_to_the_pods_namespaces() {
    let t = tree();
    for (uid, n, pid) in [(UID1, 11, "801"), (UID2, 12, "802")] {
        let dir = systemd_containerd(&t, uid, &cid(n));
        mkdir(&dir);
        fs::write(dir.join("cgroup.procs"), format!("{pid}\n")).unwrap();
        fs::create_dir_all(t.roots.proc.join(pid).join("ns")).unwrap();
        fs::write(t.roots.proc.join(pid).join("ns/net"), pid).unwrap();
    }
    // A hostNetwork pod: its processes are in the host's namespace.
    let host = systemd_containerd(&t, UID3, &cid(13));
    mkdir(&host);
    fs::write(host.join("cgroup.procs"), "1\n").unwrap();
    let netns = |pid: &str| {
        fs::metadata(t.roots.proc.join(pid).join("ns/net"))
            .unwrap()
            .ino()
    };
    let mut r = Resolver::new(t.roots.clone());
    let uids = |u: &[&str]| u.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    assert_eq!(
        r.netns_of_pods(&uids(&[UID1]), Instant::now()),
        BTreeSet::from([netns("801")])
    );
    assert_eq!(
        r.netns_of_pods(&uids(&[UID1, UID2]), Instant::now()),
        BTreeSet::from([netns("801"), netns("802")])
    );
    assert!(
        r.netns_of_pods(&uids(&[UID3, "not-on-this-node"]), Instant::now())
            .is_empty(),
        "hostNetwork and unknown pods leave the kernel unfiltered"
    );
}

#[test]
fn a_namespace_shared_by_two_pods_is_ambiguous() {
    let t = tree();
    fs::create_dir_all(t.roots.proc.join("900/ns")).unwrap();
    fs::write(t.roots.proc.join("900/ns/net"), "shared").unwrap();
    let shared = fs::metadata(t.roots.proc.join("900/ns/net")).unwrap().ino();
    for (uid, n) in [(UID1, 9), (UID2, 10)] {
        let dir = systemd_containerd(&t, uid, &cid(n));
        mkdir(&dir);
        fs::write(dir.join("cgroup.procs"), "900\n").unwrap();
    }
    let mut r = Resolver::new(t.roots.clone());
    assert_eq!(r.resolve(None, None, Some(shared), Instant::now()), None);
}

#[test]
fn a_pods_process_is_found_through_its_container_cgroup() {
    let t = tree();
    let dir = systemd_containerd(&t, UID1, &cid(14));
    mkdir(&dir);
    fs::write(dir.join("cgroup.procs"), "814\n815\n").unwrap();
    fs::create_dir_all(t.roots.proc.join("814/ns")).unwrap();
    fs::write(t.roots.proc.join("814/ns/net"), "pod netns").unwrap();
    let ns = fs::metadata(t.roots.proc.join("814/ns/net")).unwrap().ino();
    // The pod-level cgroup (no container id) has no process of its own.
    let mut r = Resolver::new(t.roots.clone());
    assert_eq!(r.process_of_pod(UID1, Instant::now()), Some((814, ns)));
    assert_eq!(r.process_of_pod(UID2, Instant::now()), None);
    assert!(r.host_netns().is_some());
}
