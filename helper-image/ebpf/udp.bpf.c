/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * UDP sends and receives with bytes and peer.
 * Preferred: fentry/kprobes on udp_sendmsg/udpv6_sendmsg and udp_recvmsg/udpv6_recvmsg (the
 * kernel's copy of the peer address, any caller). Fallback: tracepoints sock/sock_send_length
 * and sock/sock_recv_length, with the destination of unconnected sockets read from the send
 * syscall's saved registers (msgcall.h `current_send`); a receive on an unconnected socket is
 * reported at the syscall's exit, once the kernel has written the source address.
 */
#include "msgcall.h"

static __always_inline bool udp_inet(__u16 family, __u16 protocol)
{
	return protocol == K_IPPROTO_UDP && (family == AF_INET || family == AF_INET6);
}

/*
 * One UDP send, in the sender's context, its tuple filled from the socket (`e`). For an
 * unconnected socket the destination comes from the send syscall's arguments; then the
 * filters and the flow's window, then the owner; a port-53 datagram also gives a DNS record
 * with its first bytes. `msg_name`: the kernel's copy of the destination (kprobe/fentry on
 * udp_sendmsg), if any.
 */
static __always_inline void udp_sent(const struct ktui_config *cfg, struct ktui_event *e,
				     const struct sock *sk, long ret, const void *msg_name)
{
	e->kind = KTUI_KIND_UDP_SEND;
	e->direction = KTUI_DIR_SEND;
	if (ret < 0)
		e->err = -ret;
	else
		e->bytes = ret;
	if (!netns_proto_pass(cfg, e->proto, e->netns))
		return;
	struct send_args a = {};
	bool have_args = false;
	if (e->dport == 0 && msg_name)
		peer_from_kernel(e, msg_name);
	if (e->dport == 0 || e->sport == 53 || e->dport == 53) {
		have_args = current_send(&a);
		if (have_args && e->dport == 0 && a.addr)
			peer_from_user(e, (const void *)a.addr);
	}
	/* Both records need the rest of the filters (the namespace passed above). */
	if (!tuple_pass(cfg, e))
		return;
	bool dns = ret > 0 && have_args && (e->sport == 53 || e->dport == 53);
	bool udp = unfolded(cfg, e);
	if (!udp && !dns)
		return;
	/* The clock only for what gets a record (a filtered or folded send reads none). */
	e->ts_ns = bpf_ktime_get_ns();
	attribute_current(e, sk);
	if (udp)
		emit_budgeted(cfg, e);
	if (dns)
		emit_dns(cfg, e, a.buf, a.len < (__u64)ret ? a.len : (__u64)ret, ret,
			 KTUI_DIR_SEND);
}

/* The BTF tracepoints' first check (they fire for every socket, TCP included, so it comes
 * before any work): the config for an inet UDP socket while tracing is on, else NULL. */
static __always_inline struct ktui_config *udp_direct(const struct sock *sk)
{
	if (!udp_inet(sk->__sk_common.skc_family, BPF_CORE_READ_BITFIELD(sk, sk_protocol)))
		return NULL;
	return get_config();
}

/* Preferred: a BTF tracepoint (raw dispatch, no trace record built; socket fields read
 * directly). */
SEC("tp_btf/sock_send_length")
int BPF_PROG(tb_sock_send_length, struct sock *sk, int ret, int flags)
{
	struct ktui_config *cfg = udp_direct(sk);
	if (!cfg)
		return 0;
	struct ktui_event e = {};
	tuple_from_sk_direct(&e, sk);
	udp_sent(cfg, &e, sk, ret, NULL);
	return 0;
}

/* Fallback: the classic tracepoint, socket fields read with CO-RE probe reads. */
SEC("tracepoint/sock/sock_send_length")
int tp_sock_send_length(struct trace_event_raw_sock_msg_length *ctx)
{
	if (!udp_inet(ctx->family, ctx->protocol))
		return 0;
	struct ktui_config *cfg = get_config();
	if (!cfg)
		return 0;
	struct ktui_event e = {};
	tuple_from_sk(&e, ctx->sk);
	udp_sent(cfg, &e, ctx->sk, ctx->ret, NULL);
	return 0;
}

/* One UDP receive (`e`'s tuple filled from the socket): on an unconnected socket inside
 * recvfrom/recvmsg it is reported at the syscall's exit, with the source address. */
static __always_inline void udp_received(const struct ktui_config *cfg, struct ktui_event *e,
					 const struct sock *sk, int ret)
{
	__u32 tid = current_tid();
	struct msg_call *mc = bpf_map_lookup_elem(&msg_calls, &tid);
	if (mc && mc->sk == (__u64)sk) {
		/* Reported at sys_exit_recvfrom/recvmsg with the source address. */
		mc->have_recv = 1;
		mc->recv_ret = ret;
		mc->recv_ts = bpf_ktime_get_ns();
		return;
	}
	e->kind = KTUI_KIND_UDP_RECV;
	e->direction = KTUI_DIR_RECV;
	e->bytes = ret;
	if (!wanted(cfg, e) || !unfolded(cfg, e))
		return;
	e->ts_ns = bpf_ktime_get_ns();
	attribute_current(e, sk);
	emit_budgeted(cfg, e);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tb_sock_recv_length, struct sock *sk, int ret, int flags)
{
	if (ret < 0 || (flags & K_MSG_PEEK))
		return 0;
	struct ktui_config *cfg = udp_direct(sk);
	if (!cfg)
		return 0;
	struct ktui_event e = {};
	tuple_from_sk_direct(&e, sk);
	udp_received(cfg, &e, sk, ret);
	return 0;
}

SEC("tracepoint/sock/sock_recv_length")
int tp_sock_recv_length(struct trace_event_raw_sock_msg_length *ctx)
{
	if (!udp_inet(ctx->family, ctx->protocol))
		return 0;
	int ret = ctx->ret;
	if (ret < 0 || (ctx->flags & K_MSG_PEEK))
		return 0;
	struct ktui_config *cfg = get_config();
	if (!cfg)
		return 0;
	struct ktui_event e = {};
	tuple_from_sk(&e, ctx->sk);
	udp_received(cfg, &e, ctx->sk, ret);
	return 0;
}

/* ---- kprobe variants (preferred where the kernel has kprobes) */

static __always_inline void kp_send(const struct sock *sk, const struct msghdr *msg, __u64 len)
{
	struct ktui_config *cfg = get_config();
	if (!cfg)
		return;
	struct ktui_event e = {};
	tuple_from_sk(&e, sk);
	udp_sent(cfg, &e, sk, len, BPF_CORE_READ(msg, msg_name));
}

SEC("kprobe/udp_sendmsg")
int BPF_KPROBE(kp_udp_sendmsg, struct sock *sk, struct msghdr *msg, size_t len)
{
	kp_send(sk, msg, len);
	return 0;
}

SEC("kprobe/udpv6_sendmsg")
int BPF_KPROBE(kp_udpv6_sendmsg, struct sock *sk, struct msghdr *msg, size_t len)
{
	kp_send(sk, msg, len);
	return 0;
}

struct kp_recv_call {
	__u64 sk;
	__u64 msg;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct kp_recv_call);
} kp_recv_calls SEC(".maps");

static __always_inline void kp_recv_enter(const struct sock *sk, const struct msghdr *msg)
{
	struct kp_recv_call c = {.sk = (__u64)sk, .msg = (__u64)msg};
	__u32 tid = current_tid();
	bpf_map_update_elem(&kp_recv_calls, &tid, &c, BPF_ANY);
}

static __always_inline void kp_recv_exit(long ret)
{
	__u32 tid = current_tid();
	struct kp_recv_call *found = bpf_map_lookup_elem(&kp_recv_calls, &tid);
	if (!found)
		return;
	struct kp_recv_call c = *found;
	bpf_map_delete_elem(&kp_recv_calls, &tid);
	if (ret < 0)
		return;
	const struct sock *sk = (const struct sock *)c.sk;
	const struct msghdr *msg = (const struct msghdr *)c.msg;
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_UDP_RECV;
	e.direction = KTUI_DIR_RECV;
	tuple_from_sk(&e, sk);
	attribute_current(&e, sk);
	e.bytes = ret;
	peer_from_kernel(&e, BPF_CORE_READ(msg, msg_name));
	emit(&e);
}

SEC("kprobe/udp_recvmsg")
int BPF_KPROBE(kp_udp_recvmsg, struct sock *sk, struct msghdr *msg)
{
	kp_recv_enter(sk, msg);
	return 0;
}

SEC("kretprobe/udp_recvmsg")
int BPF_KRETPROBE(krp_udp_recvmsg, long ret)
{
	kp_recv_exit(ret);
	return 0;
}

SEC("kprobe/udpv6_recvmsg")
int BPF_KPROBE(kp_udpv6_recvmsg, struct sock *sk, struct msghdr *msg)
{
	kp_recv_enter(sk, msg);
	return 0;
}

SEC("kretprobe/udpv6_recvmsg")
int BPF_KRETPROBE(krp_udpv6_recvmsg, long ret)
{
	kp_recv_exit(ret);
	return 0;
}

/* ---- fentry/fexit variants (preferred where the kernel has BPF trampolines) */

SEC("fentry/udp_sendmsg")
int BPF_PROG(fe_udp_sendmsg, struct sock *sk, struct msghdr *msg, size_t len)
{
	kp_send(sk, msg, len);
	return 0;
}

SEC("fentry/udpv6_sendmsg")
int BPF_PROG(fe_udpv6_sendmsg, struct sock *sk, struct msghdr *msg, size_t len)
{
	kp_send(sk, msg, len);
	return 0;
}

/* fexit: the arguments are still there; the return value through bpf_get_func_ret (the
 * argument count of udp_recvmsg changed in 5.19, so it is not read by position). */
static __always_inline void fx_recv(void *ctx, const struct sock *sk, const struct msghdr *msg)
{
	__u64 ret = 0;
	if (bpf_get_func_ret(ctx, &ret))
		return;
	long n = (long)ret;
	if (n < 0)
		return;
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_UDP_RECV;
	e.direction = KTUI_DIR_RECV;
	tuple_from_sk(&e, sk);
	attribute_current(&e, sk);
	e.bytes = n;
	peer_from_kernel(&e, BPF_CORE_READ(msg, msg_name));
	emit(&e);
}

SEC("fexit/udp_recvmsg")
int BPF_PROG(fx_udp_recvmsg, struct sock *sk, struct msghdr *msg)
{
	fx_recv(ctx, sk, msg);
	return 0;
}

SEC("fexit/udpv6_recvmsg")
int BPF_PROG(fx_udpv6_recvmsg, struct sock *sk, struct msghdr *msg)
{
	fx_recv(ctx, sk, msg);
	return 0;
}
