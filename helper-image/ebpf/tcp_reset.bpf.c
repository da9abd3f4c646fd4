/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* TCP resets sent and received: tracepoints tcp/tcp_send_reset and tcp/tcp_receive_reset. */
#include "common.h"

/* A reset sent without a socket (e.g. a SYN to a closed port): the tracepoint carries the
 * addresses as sockaddrs (kernel >= 6.10, 28 bytes each; local end in saddr). Copied with
 * bpf_probe_read_kernel: direct context loads must use constant offsets. */
static __always_inline bool reset_tuple_from_ctx(struct ktui_event *e,
						 struct trace_event_raw_tcp_send_reset *ctx)
{
	if (bpf_core_field_size(ctx->saddr) != 28)
		return false;
	__u8 s[28] = {}, d[28] = {};
	if (bpf_probe_read_kernel(s, sizeof(s), ctx->saddr) ||
	    bpf_probe_read_kernel(d, sizeof(d), ctx->daddr))
		return false;
	__u16 family = s[0] | (s[1] << 8);
	e->family = family;
	e->sport = (s[2] << 8) | s[3];
	e->dport = (d[2] << 8) | d[3];
	if (family == AF_INET) {
		__builtin_memcpy(e->saddr, &s[4], 4);
		__builtin_memcpy(e->daddr, &d[4], 4);
	} else if (family == AF_INET6) {
		__builtin_memcpy(e->saddr, &s[8], 16);
		__builtin_memcpy(e->daddr, &d[8], 16);
	} else {
		return false;
	}
	return true;
}

SEC("tracepoint/tcp/tcp_send_reset")
int tp_tcp_send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_TCP_RESET;
	e.direction = KTUI_DIR_SEND;
	/* Prefer the tracepoint's own addresses: `sk` may be a request or timewait minisock. */
	if (!reset_tuple_from_ctx(&e, ctx)) {
		if (!sk)
			return 0;
		tuple_from_sk(&e, sk);
	}
	e.proto = K_IPPROTO_TCP;
	if (sk) {
		e.sk = (__u64)sk;
		e.netns = sk_netns(sk);
		e.new_state = ctx->state;
		attribute_cached(&e, sk);
	} else {
		const struct sk_buff *skb = ctx->skbaddr;
		e.netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	}
	emit(&e);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int tp_tcp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	const struct sock *sk = ctx->skaddr;
	if (!sk)
		return 0;
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_TCP_RESET;
	e.direction = KTUI_DIR_RECV;
	tuple_from_sk(&e, sk);
	e.new_state = BPF_CORE_READ(sk, __sk_common.skc_state);
	attribute_cached(&e, sk);
	emit(&e);
	return 0;
}
