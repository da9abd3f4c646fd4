//! One socket event: the pinned `ktui-helper trace` line and the `socket` message payload.
//! Every key is always present; `null` when it does not apply.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    TcpState,
    TcpRetransmit,
    TcpReset,
    Connect,
    UdpSend,
    UdpRecv,
    Dns,
    Drop,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TcpState => "tcp_state",
            EventType::TcpRetransmit => "tcp_retransmit",
            EventType::TcpReset => "tcp_reset",
            EventType::Connect => "connect",
            EventType::UdpSend => "udp_send",
            EventType::UdpRecv => "udp_recv",
            EventType::Dns => "dns",
            EventType::Drop => "drop",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Send,
    Recv,
}

/// DNS metadata read from the first bytes of a port-53 datagram (never any other payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsInfo {
    pub qname: Option<String>,
    /// Numeric query type (1 = A, 28 = AAAA, ...).
    pub qtype: Option<u16>,
    /// Response code; null for queries.
    pub rcode: Option<u8>,
    /// Transaction id (pairs an answer with its query).
    #[serde(default)]
    pub id: Option<u16>,
}

/// Kubernetes identity of the socket's owner, when resolvable (never guessed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct K8sRef {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub pod_uid: Option<String>,
    /// The runtime's id of the container (64 hex), from the cgroup path.
    #[serde(default)]
    pub container_id: Option<String>,
}

/// Namespace inode numbers of the owning process (as `/proc/<pid>/ns/*` links show them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcNs {
    pub net: Option<u64>,
    pub mnt: Option<u64>,
    pub pid: Option<u64>,
    pub user: Option<u64>,
}

/// Security context of the owning process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecContext {
    /// 0 disabled, 1 strict, 2 filter (`Seccomp:` of `/proc/<pid>/status`).
    pub seccomp_mode: Option<u8>,
    /// Effective capabilities, 16 hex digits as in `CapEff:`.
    pub caps_eff: Option<String>,
}

/// One direction of a conntrack entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtTuple {
    pub src: String,
    pub sport: Option<u16>,
    pub dst: String,
    pub dport: Option<u16>,
}

/// The host's conntrack entry of a TCP or UDP flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conntrack {
    /// TCP state (`ESTABLISHED`, `SYN_SENT`, ...) or, for UDP, `UNREPLIED` / `REPLIED` /
    /// `ASSURED`.
    pub state: Option<String>,
    /// The reply direction as the kernel keeps it: its source is the peer that actually
    /// answers (a Service backend after DNAT), its destination the address replies go to
    /// (the node's address after SNAT).
    pub reply: Option<CtTuple>,
    /// The original direction, as the first packet went (to the Service VIP before DNAT):
    /// what an event seen from the backend's side (matching `reply`) was addressed to.
    #[serde(default)]
    pub orig: Option<CtTuple>,
    /// `dnat` (the answers come from elsewhere than the original destination: a Service
    /// backend), `snat` (they go elsewhere than the original source: masquerade),
    /// `dnat+snat`, or null when the flow is not translated.
    #[serde(default)]
    pub nat: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketEvent {
    /// UTC, RFC 3339 with 9 fractional digits and `Z`.
    pub ts: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub proto: Option<Proto>,
    /// The thread-group id.
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    /// The thread-group leader's comm.
    pub comm: Option<String>,
    /// Local end.
    pub src: Option<String>,
    pub sport: Option<u16>,
    /// Remote end (IPv4-mapped IPv6 shown as IPv4).
    pub dst: Option<String>,
    pub dport: Option<u16>,
    pub old_state: Option<String>,
    pub new_state: Option<String>,
    pub bytes: Option<u64>,
    pub latency_us: Option<u64>,
    /// Positive errno.
    pub errno: Option<i32>,
    pub direction: Option<Direction>,
    /// Network namespace inode.
    pub netns: Option<u64>,
    pub dns: Option<DnsInfo>,
    pub drop_reason: Option<String>,
    pub k8s: Option<K8sRef>,
    /// Events this line stands for: repeats of one flow folded in the kernel during a storm
    /// (UDP sends/receives, retransmits, drops; `ts` is the last, `first_ts` the first), or
    /// drops folded per reason; null for a single event.
    pub count: Option<u64>,
    /// cgroup v2 id of the owning task, when known.
    pub cgroup_id: Option<u64>,
    /// With `count`: when the first of the folded events happened.
    pub first_ts: Option<String>,
    /// Owner's real uid and gid, and its parent's pid.
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub gid: Option<u32>,
    #[serde(default)]
    pub ppid: Option<u32>,
    /// Owner's namespaces.
    #[serde(default)]
    pub ns: Option<ProcNs>,
    /// Owner's security context (null with `--no-sec`).
    #[serde(default)]
    pub sec: Option<SecContext>,
    /// The flow's conntrack entry on the node, when there is one.
    #[serde(default)]
    pub conntrack: Option<Conntrack>,
    /// DNS answers: microseconds since the query they answer.
    #[serde(default)]
    pub rtt_us: Option<u64>,
}

impl SocketEvent {
    /// An event of `kind` at `ts` with every other key null.
    pub fn new(ts: String, kind: EventType) -> Self {
        Self {
            ts,
            kind,
            proto: None,
            pid: None,
            tid: None,
            comm: None,
            src: None,
            sport: None,
            dst: None,
            dport: None,
            old_state: None,
            new_state: None,
            bytes: None,
            latency_us: None,
            errno: None,
            direction: None,
            netns: None,
            dns: None,
            drop_reason: None,
            k8s: None,
            count: None,
            cgroup_id: None,
            first_ts: None,
            uid: None,
            gid: None,
            ppid: None,
            ns: None,
            sec: None,
            conntrack: None,
            rtt_us: None,
        }
    }
}
