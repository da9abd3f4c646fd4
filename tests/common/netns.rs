//! Two network namespaces joined by a veth pair, for the tests that capture real packets.

use std::process::Command;

/// Namespaces `a` (`<subnet>.1`) and `b` (`<subnet>.2`) joined by a veth pair; deleted on
/// drop.
pub struct Pair {
    pub a: String,
    pub b: String,
    /// The veth end in `a`.
    pub veth_a: String,
    subnet: String,
}

impl Pair {
    /// Namespaces `<ns>a<pid>` and `<ns>b<pid>`, veths `<veth>a<pid>` and `<veth>b<pid>` (the
    /// pid cut to 5 digits), addresses `<subnet>.1/24` and `<subnet>.2/24`.
    pub fn new(ns: &str, veth: &str, subnet: &str) -> Pair {
        let pid = std::process::id();
        let (a, b) = (format!("{ns}a{pid}"), format!("{ns}b{pid}"));
        let (va, vb) = (
            format!("{veth}a{}", pid % 100_000),
            format!("{veth}b{}", pid % 100_000),
        );
        for ns in [&a, &b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        super::sh(&format!(
            "ip netns add {a} && ip netns add {b} && \
             ip link add {va} netns {a} type veth peer name {vb} netns {b} && \
             ip -n {a} addr add {subnet}.1/24 dev {va} && ip -n {b} addr add {subnet}.2/24 dev {vb} && \
             ip -n {a} link set {va} up && ip -n {b} link set {vb} up && \
             ip -n {a} link set lo up && ip -n {b} link set lo up"
        ));
        Pair {
            a,
            b,
            veth_a: va,
            subnet: subnet.to_string(),
        }
    }

    /// `n` UDP datagrams (`ktui-000`, ...) from `a` to `b`'s `port`, 5 ms apart.
    pub fn send_datagrams(&self, port: u16, n: u64) {
        super::sh(&format!(
            "ip netns exec {} python3 -c \"import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
for i in range({n}):
    s.sendto(b'ktui-%03d' % i, ('{}.2', {port})); time.sleep(0.005)\"",
            self.a, self.subnet
        ));
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
