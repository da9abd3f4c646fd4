/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* connect() latency and errno (syscalls/sys_enter_connect + sys_exit_connect), the error
 * report of failed non-blocking connects, and owner attribution at accept(). */
#include "connect.h"

SEC("tracepoint/syscalls/sys_enter_connect")
int tp_sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	struct connect_call call = {};
	struct ktui_event peer = {};
	call.start_ns = bpf_ktime_get_ns();
	call.fd = (long)ctx->args[0];
	if (peer_from_user(&peer, (const void *)ctx->args[1])) {
		call.family = peer.family;
		call.dport = peer.dport;
		__builtin_memcpy(call.daddr, peer.daddr, 16);
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&connect_calls, &tid, &call, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct connect_call *found = bpf_map_lookup_elem(&connect_calls, &tid);
	if (!found)
		return 0;
	struct connect_call call = *found;
	bpf_map_delete_elem(&connect_calls, &tid);

	const struct sock *sk = (const struct sock *)call.sk;
	if (!sk)
		sk = fd_to_sk(call.fd);
	if (!sk || !is_inet(sk))
		return 0;
	if (sk_proto(sk) != K_IPPROTO_TCP) {
		/* A connected UDP socket: remember its owner, no event. */
		struct ktui_owner o = {};
		__u64 key = (__u64)sk;
		owner_from_current(&o);
		bpf_map_update_elem(&sock_owner, &key, &o, BPF_ANY);
		return 0;
	}

	long ret = ctx->ret;
	__u64 key = (__u64)sk;
	if (ret == -K_EALREADY || ret == -K_EISCONN)
		return 0; /* polling a connect already in progress */
	if (ret == -K_EINPROGRESS || ret == -K_EINTR) {
		/* Not a failure: the handshake goes on. Report it when it ends, or now if it
		 * already ended inside this call (loopback). */
		struct connect_state *cs = bpf_map_lookup_elem(&connecting, &key);
		if (!cs)
			return 0;
		if (cs->done) {
			emit_connect(sk, cs->err, cs->done_ns - cs->start_ns, &call, cs, true);
			bpf_map_delete_elem(&connecting, &key);
		} else {
			cs->nonblock = 1;
		}
		return 0;
	}
	__s32 err = ret < 0 ? (__s32)-ret : 0;
	struct connect_state *cs = bpf_map_lookup_elem(&connecting, &key);
	emit_connect(sk, err, bpf_ktime_get_ns() - call.start_ns, &call, cs, true);
	bpf_map_delete_elem(&connecting, &key);
	return 0;
}

SEC("tracepoint/sock/inet_sk_error_report")
int tp_inet_sk_error_report(struct trace_event_raw_inet_sk_error_report *ctx)
{
	if (ctx->protocol != K_IPPROTO_TCP)
		return 0;
	__u32 zero = 0;
	struct err_report *r = bpf_map_lookup_elem(&last_err, &zero);
	if (!r)
		return 0;
	r->ts_ns = bpf_ktime_get_ns();
	r->error = ctx->error;
	r->sport = ctx->sport;
	r->dport = ctx->dport;
	return 0;
}

/* accept()/accept4() returned a socket: the caller owns it. */
static __always_inline void owner_at_accept(long fd)
{
	if (fd < 0)
		return;
	struct sock *sk = fd_to_sk(fd);
	if (!sk || !is_inet(sk))
		return;
	struct ktui_owner o = {};
	__u64 key = (__u64)sk;
	owner_from_current(&o);
	bpf_map_update_elem(&sock_owner, &key, &o, BPF_ANY);
	/* The next children of this listener belong to the accepting process too. */
	struct listen_key lk = {.netns = sk_netns(sk),
				.port = BPF_CORE_READ(sk, __sk_common.skc_num)};
	bpf_map_update_elem(&listen_owner, &lk, &o, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	owner_at_accept(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	owner_at_accept(ctx->ret);
	return 0;
}
