//! Makes the demo recording (helper-image/recordings/demo-sockets.jsonl): runs
//! `ktui-helper trace --duration 20s` as root while generating varied, real traffic between
//! network namespaces it creates (and on loopback), then cleans up.
//!
//!   cargo build -p ktui-helper --examples
//!   sudo target/debug/examples/demo_traffic [OUTPUT.jsonl]
//!
//! Layout: a "node" namespace with a bridge, and one namespace per pod on 10.77.9.0/24:
//!   coredns 10.77.9.10 (kube-system/coredns-6d4b8c7f9-x2k4p), checkout 10.77.9.11
//!   (shop/checkout-5f7c9d8b6-q8wzt), cart 10.77.9.12 (shop/cart-api-7d4b8f6c5-m2j7n),
//!   uploader 10.77.9.13 (batch/report-uploader-28f1c-7xk2d).
//! Each role runs as its own process, named after the pod's program (comm), inside a cgroup v2
//! directory laid out like kubelet's (systemd driver, containerd ids), so the helper resolves
//! real cgroup ids to pods; names come from a /var/log/pods-style tree in a temp directory.
//! Traffic: HTTP-ish requests (accepted), a refused port, a CLOSE_WAIT leak, a connect to an
//! address that never answers, DNS over UDP (answered after a delay, NXDOMAIN, unanswered), an
//! upload through a 30% packet-loss iptables rule (retransmits), loopback health checks, and
//! two Service VIPs the node translates like kube-proxy's iptables mode (DNAT to the backend,
//! MASQUERADE for the hairpin): 10.96.0.20:80 → cart-api 10.77.9.12:8080 (answers) and
//! 10.96.0.21:80 → 10.77.9.12:8081 (nothing listens: refused). The pods route through the
//! node (10.77.9.1), and the helper runs in the node's network namespace (like hostNetwork),
//! so it reads the node's conntrack table.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ktui_helper::dns::{build_query, build_response};

type Res<T = ()> = Result<T, Box<dyn Error>>;

const NODE_NS: &str = "ktuidemo-node";
const SUBNET: &str = "10.77.9";
/// Service VIPs (translated in the node namespace): one with a live backend, one without.
const VIP_CART: &str = "10.96.0.20";
const VIP_ORDERS: &str = "10.96.0.21";
/// How long the roles generate traffic.
const RUN: Duration = Duration::from_secs(17);

struct Pod {
    ns: &'static str,
    name: &'static str,
    uid: &'static str,
    netns: &'static str,
    ip_last: u8,
}

const PODS: [Pod; 4] = [
    Pod {
        ns: "kube-system",
        name: "coredns-6d4b8c7f9-x2k4p",
        uid: "3f0c2a71-8d4e-4b6a-9c1f-52e7d0a4b913",
        netns: "ktuidemo-coredns",
        ip_last: 10,
    },
    Pod {
        ns: "shop",
        name: "checkout-5f7c9d8b6-q8wzt",
        uid: "a81d44c2-0b7e-4f19-8e3a-6c2b9f5d1e07",
        netns: "ktuidemo-checkout",
        ip_last: 11,
    },
    Pod {
        ns: "shop",
        name: "cart-api-7d4b8f6c5-m2j7n",
        uid: "5c9e1b3a-7f2d-4e8c-a6b4-0d3f8e2c1a95",
        netns: "ktuidemo-cart",
        ip_last: 12,
    },
    Pod {
        ns: "batch",
        name: "report-uploader-28f1c-7xk2d",
        uid: "e2b7c5d9-4a1f-4c3e-b8d6-9f0a7e5c3b21",
        netns: "ktuidemo-uploader",
        ip_last: 13,
    },
];

/// (role = comm, pod index or None for a host process, container name)
const ROLES: [(&str, Option<usize>, &str); 6] = [
    ("coredns", Some(0), "coredns"),
    ("cart-api", Some(2), "api"),
    ("checkout", Some(1), "checkout"),
    ("getaddrinfo", Some(1), "checkout"),
    ("uploader", Some(3), "uploader"),
    ("healthcheck", None, ""),
];

fn ip(last: u8) -> String {
    format!("{SUBNET}.{last}")
}

fn sh(cmd: &str) -> Res {
    let out = Command::new("sh").arg("-c").arg(cmd).output()?;
    if !out.status.success() {
        return Err(format!("{cmd}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

fn container_id(role: &str) -> String {
    let mut id: String = role.bytes().map(|b| format!("{b:02x}")).collect();
    while id.len() < 64 {
        id.push('0');
    }
    id.truncate(64);
    id
}

fn cgroup2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.controllers").is_file())
}

fn cgroup_dir(root: &Path, pod: &Pod, role: &str) -> PathBuf {
    root.join("kubepods.slice/kubepods-burstable.slice")
        .join(format!(
            "kubepods-burstable-pod{}.slice",
            pod.uid.replace('-', "_")
        ))
        .join(format!("cri-containerd-{}.scope", container_id(role)))
}

fn setup(logs: &Path) -> Res {
    cleanup();
    sh(&format!(
        "ip netns add {NODE_NS} && ip -n {NODE_NS} link add br0 type bridge && \
         ip -n {NODE_NS} addr add {gw}/24 dev br0 && \
         ip -n {NODE_NS} link set br0 up && ip -n {NODE_NS} link set lo up && \
         ip netns exec {NODE_NS} sysctl -qw net.ipv4.ip_forward=1",
        gw = ip(1),
    ))?;
    for (i, p) in PODS.iter().enumerate() {
        sh(&format!(
            "ip netns add {ns} && ip link add eth0 netns {ns} type veth peer name veth{i} netns {NODE_NS} && \
             ip -n {NODE_NS} link set veth{i} master br0 up && \
             ip -n {ns} addr add {addr}/24 dev eth0 && ip -n {ns} link set eth0 up && ip -n {ns} link set lo up && \
             ip -n {ns} route add default via {gw}",
            ns = p.netns,
            addr = ip(p.ip_last),
            gw = ip(1),
        ))?;
    }
    // The Services, as kube-proxy's iptables mode writes them: DNAT at PREROUTING, and
    // MASQUERADE when a pod reaches a backend on its own bridge (hairpin).
    sh(&format!(
        "ip netns exec {NODE_NS} iptables -t nat -A PREROUTING -d {VIP_CART} -p tcp --dport 80 -j DNAT --to-destination {cart}:8080 && \
         ip netns exec {NODE_NS} iptables -t nat -A PREROUTING -d {VIP_ORDERS} -p tcp --dport 80 -j DNAT --to-destination {cart}:8081 && \
         ip netns exec {NODE_NS} iptables -t nat -A POSTROUTING -s {SUBNET}.0/24 -d {SUBNET}.0/24 -m conntrack --ctstate DNAT -j MASQUERADE",
        cart = ip(12),
    ))?;
    // 30% loss towards the upload port: retransmits.
    sh(&format!(
        "ip netns exec {} iptables -A INPUT -p tcp --dport 8443 -m statistic --mode random --probability 0.3 -j DROP",
        PODS[2].netns
    ))?;
    let root = cgroup2_root().ok_or("no cgroup2 mount")?;
    for (role, pod, container) in ROLES {
        let Some(pod) = pod.map(|i| &PODS[i]) else {
            continue;
        };
        std::fs::create_dir_all(cgroup_dir(&root, pod, role))?;
        let d = logs.join(format!(
            "pods/{}_{}_{}/{container}",
            pod.ns, pod.name, pod.uid
        ));
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join("0.log"), "")?;
        std::fs::create_dir_all(logs.join("containers"))?;
        std::fs::write(
            logs.join(format!(
                "containers/{}_{}_{container}-{}.log",
                pod.name,
                pod.ns,
                container_id(role)
            )),
            "",
        )?;
    }
    Ok(())
}

fn cleanup() {
    let mut names = vec![NODE_NS];
    names.extend(PODS.iter().map(|p| p.netns));
    for n in names {
        let _ = Command::new("ip").args(["netns", "del", n]).output();
    }
    if let Some(root) = cgroup2_root() {
        for (role, pod, _) in ROLES {
            let Some(pod) = pod.map(|i| &PODS[i]) else {
                continue;
            };
            let d = cgroup_dir(&root, pod, role);
            let _ = std::fs::remove_dir(&d);
            if let Some(parent) = d.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
        let _ = std::fs::remove_dir(root.join("kubepods.slice/kubepods-burstable.slice"));
        let _ = std::fs::remove_dir(root.join("kubepods.slice"));
    }
}

/// Inside a role process: name it, move it into its pod's cgroup and network namespace.
fn enter(role: &str) -> Res {
    let name = std::ffi::CString::new(role)?;
    // SAFETY: PR_SET_NAME with a NUL-terminated string (truncated to 15 bytes by the kernel).
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr(), 0, 0, 0) };
    let Some((_, Some(pod), _)) = ROLES.iter().find(|r| r.0 == role) else {
        return Ok(());
    };
    let pod = &PODS[*pod];
    let root = cgroup2_root().ok_or("no cgroup2 mount")?;
    std::fs::write(
        cgroup_dir(&root, pod, role).join("cgroup.procs"),
        std::process::id().to_string(),
    )?;
    let f = std::fs::File::open(format!("/run/netns/{}", pod.netns))?;
    // SAFETY: setns on a namespace fd we own; this process is still single-threaded.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns {}: {}", pod.netns, std::io::Error::last_os_error()).into());
    }
    Ok(())
}

fn until(deadline: Instant) -> bool {
    Instant::now() < deadline
}

fn role_coredns(deadline: Instant) -> Res {
    let sock = UdpSocket::bind((ip(10).as_str(), 53))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut buf = [0u8; 512];
    while until(deadline) {
        let Ok((n, peer)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let info = ktui_helper::dns::parse(&buf[..n]);
        let name = info.qname.unwrap_or_default();
        if name.starts_with("slow.") {
            continue; // an upstream that never answers
        }
        // Cluster names from the cache (2 ms); others forwarded upstream (30 ms), NXDOMAIN.
        let (rcode, delay) = if name.ends_with(".cluster.local") {
            (0, 2)
        } else {
            (3, 30)
        };
        std::thread::sleep(Duration::from_millis(delay));
        sock.send_to(&build_response(&buf[..n], rcode), peer)?;
    }
    Ok(())
}

fn serve_http(mut s: TcpStream) {
    let mut buf = [0u8; 1024];
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.read(&mut buf).is_ok() {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    }
}

fn role_cart_api(deadline: Instant) -> Res {
    let addr = ip(12);
    let http = TcpListener::bind((addr.as_str(), 8080))?;
    let leaky = TcpListener::bind((addr.as_str(), 9090))?;
    let upload = TcpListener::bind((addr.as_str(), 8443))?;
    std::thread::spawn(move || {
        for s in http.incoming().flatten() {
            serve_http(s);
        }
    });
    // The leak: connections accepted and never closed (CLOSE_WAIT once the client leaves).
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in leaky.incoming().flatten() {
            held.push(s);
        }
    });
    std::thread::spawn(move || {
        for mut s in upload.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    while until(deadline) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// connect() on an O_NONBLOCK socket, then wait up to `wait` for it to finish.
fn nonblocking_connect(addr: &str, port: u16, wait: Duration) {
    let Ok(ip) = addr.parse::<std::net::Ipv4Addr>() else {
        return;
    };
    // SAFETY: plain socket syscalls on an fd we own and close.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
        if fd < 0 {
            return;
        }
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as u16,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        );
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        libc::poll(&mut pfd, 1, wait.as_millis() as i32);
        libc::close(fd);
    }
}

fn role_checkout(deadline: Instant) -> Res {
    let cart = ip(12);
    let start = Instant::now();
    let mut tick = 0u32;
    let mut leaked = 0;
    while until(deadline) {
        if let Ok(mut s) = TcpStream::connect((cart.as_str(), 8080)) {
            let _ = s.write_all(b"GET /cart HTTP/1.1\r\nhost: cart-api\r\n\r\n");
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
        }
        if tick.is_multiple_of(4) {
            let _ = TcpStream::connect((cart.as_str(), 8081)); // nothing listens: refused
        }
        // Through the Services: the node translates the VIPs to the backends.
        if let Ok(mut s) = TcpStream::connect((VIP_CART, 80)) {
            let _ = s.write_all(b"GET /items HTTP/1.1\r\nhost: cart-api\r\n\r\n");
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
        }
        if tick.is_multiple_of(3) {
            let _ = TcpStream::connect((VIP_ORDERS, 80)); // a Service without a live backend
        }
        if leaked < 6 && (tick == 4 || tick == 12) {
            for _ in 0..3 {
                if let Ok(s) = TcpStream::connect((cart.as_str(), 9090)) {
                    drop(s);
                    leaked += 1;
                }
            }
        }
        if tick == 8 {
            // A payment gateway that never answers (no such host on the subnet).
            let gw = ip(99);
            std::thread::spawn(move || nonblocking_connect(&gw, 443, Duration::from_secs(5)));
        }
        tick += 1;
        let next = start + Duration::from_millis(500 * u64::from(tick));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    Ok(())
}

fn sendmmsg_pair(sock: &UdpSocket, a: &[u8], b: &[u8]) {
    let mut iov = [
        libc::iovec {
            iov_base: a.as_ptr() as *mut _,
            iov_len: a.len(),
        },
        libc::iovec {
            iov_base: b.as_ptr() as *mut _,
            iov_len: b.len(),
        },
    ];
    // SAFETY: the msghdrs point at live iovecs; connected socket, so no msg_name.
    unsafe {
        let mut msgs: [libc::mmsghdr; 2] = std::mem::zeroed();
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_iov = &mut iov[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), 2, 0);
    }
}

/// Like glibc's resolver: a connected UDP socket, A and AAAA with sendmmsg, recvfrom.
fn resolve(server: &str, name: &str, id: u16) {
    let Ok(sock) = UdpSocket::bind("0.0.0.0:0") else {
        return;
    };
    if sock.connect((server, 53)).is_err() {
        return;
    }
    let _ = sock.set_read_timeout(Some(Duration::from_millis(800)));
    sendmmsg_pair(
        &sock,
        &build_query(id, name, 1),
        &build_query(id.wrapping_add(1), name, 28),
    );
    let mut buf = [0u8; 512];
    for _ in 0..2 {
        if sock.recv_from(&mut buf).is_err() {
            break;
        }
    }
}

fn role_getaddrinfo(deadline: Instant) -> Res {
    let dns = ip(10);
    let mut id = 0x1000u16;
    let mut tick = 0u32;
    while until(deadline) {
        resolve(&dns, "cart-api.shop.svc.cluster.local", id);
        if tick % 3 == 1 {
            resolve(&dns, "payments.example.com", id.wrapping_add(7));
        }
        if tick % 4 == 2 {
            resolve(&dns, "slow.external.example", id.wrapping_add(13));
        }
        if tick % 5 == 3 {
            // A plain sendto/recvfrom query on an unconnected socket.
            if let Ok(s) = UdpSocket::bind("0.0.0.0:0") {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = s.send_to(
                    &build_query(id.wrapping_add(21), "redis.shop.svc.cluster.local", 1),
                    (dns.as_str(), 53),
                );
                let mut buf = [0u8; 512];
                let _ = s.recv_from(&mut buf);
            }
        }
        id = id.wrapping_add(32);
        tick += 1;
        std::thread::sleep(Duration::from_millis(900));
    }
    Ok(())
}

fn role_uploader(deadline: Instant) -> Res {
    let cart = ip(12);
    std::thread::sleep(Duration::from_secs(2));
    let mut s = TcpStream::connect((cart.as_str(), 8443))?;
    let chunk = vec![0x5au8; 16 * 1024];
    while until(deadline - Duration::from_secs(2)) {
        if s.write_all(&chunk).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    Ok(())
}

fn role_healthcheck(deadline: Instant) -> Res {
    let local = TcpListener::bind("127.0.0.1:0")?;
    let port = local.local_addr()?.port();
    std::thread::spawn(move || {
        for s in local.incoming().flatten() {
            serve_http(s);
        }
    });
    while until(deadline) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\n\r\n");
            let mut buf = [0u8; 128];
            let _ = s.read(&mut buf);
        }
        let _ = TcpStream::connect(("127.0.0.1", 1)); // a probe of a port that is down
        std::thread::sleep(Duration::from_secs(2));
    }
    Ok(())
}

fn run_role(role: &str, deadline: Instant) -> Res {
    enter(role)?;
    match role {
        "coredns" => role_coredns(deadline),
        "cart-api" => role_cart_api(deadline),
        "checkout" => role_checkout(deadline),
        "getaddrinfo" => role_getaddrinfo(deadline),
        "uploader" => role_uploader(deadline),
        "healthcheck" => role_healthcheck(deadline),
        other => Err(format!("unknown role {other}").into()),
    }
}

fn helper_binary() -> Res<PathBuf> {
    if let Some(p) = std::env::var_os("KTUI_HELPER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .skip(1)
        .take(3)
        .map(|d| d.join("ktui-helper"))
        .find(|p| p.is_file())
        .ok_or_else(|| "ktui-helper not found next to this example; set KTUI_HELPER_BIN".into())
}

fn main() -> Res {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--role") {
        let role = args.get(2).ok_or("--role needs a name")?;
        let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(17);
        return run_role(role, Instant::now() + Duration::from_secs(secs));
    }
    let out = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "demo-sockets.jsonl".into()),
    );
    let logs = std::env::temp_dir().join(format!("ktui-demo-logs-{}", std::process::id()));
    if let Err(e) = setup(&logs) {
        cleanup();
        return Err(e);
    }
    let result = record(&out, &logs);
    cleanup();
    let _ = std::fs::remove_dir_all(&logs);
    result
}

fn record(out: &Path, logs: &Path) -> Res {
    let raw = out.with_extension("unsorted");
    let file = std::fs::File::create(&raw)?;
    // In the node's network namespace (its conntrack table), like a hostNetwork pod; only the
    // network namespace changes (tracefs, cgroups and /proc stay the host's).
    let mut trace = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{NODE_NS}"))
        .arg(helper_binary()?)
        .args(["trace", "--duration", "20s", "-v"])
        .env("KTUI_POD_LOG_ROOT", logs.join("pods"))
        .env("KTUI_CONTAINER_LOG_ROOT", logs.join("containers"))
        .stdout(file)
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = trace.stderr.take().ok_or("no stderr")?;
    let mut first = [0u8; 1];
    stderr.read_exact(&mut first)?; // the probe line: attached
    std::thread::sleep(Duration::from_millis(500));
    let exe = std::env::current_exe()?;
    let mut roles: Vec<Child> = Vec::new();
    for (role, _, _) in ROLES {
        roles.push(
            Command::new(&exe)
                .args(["--role", role, &RUN.as_secs().to_string()])
                .spawn()?,
        );
    }
    for mut r in roles {
        let _ = r.wait();
    }
    let status = trace.wait()?;
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    eprintln!(
        "trace: {status}; final stats: {}",
        rest.lines().last().unwrap_or("")
    );
    if !status.success() {
        return Err(format!("trace failed: {status}").into());
    }
    // Delivery order → time order (stable): folded drops come out ~1 s after their packets.
    let text = std::fs::read_to_string(&raw)?;
    let mut lines: Vec<(String, &str)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let ev: ktui_wire::SocketEvent = serde_json::from_str(line)?;
        lines.push((ev.ts, line));
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sorted = String::with_capacity(text.len());
    for (_, line) in lines {
        sorted.push_str(line);
        sorted.push('\n');
    }
    std::fs::write(out, sorted)?;
    std::fs::remove_file(&raw)?;
    Ok(())
}
