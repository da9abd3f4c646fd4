/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* TCP retransmits: tracepoint tcp/tcp_retransmit_skb (fallback kprobe tcp_retransmit_skb). */
#include "common.h"

static __always_inline void handle_retransmit(const struct sock *sk, int state)
{
	if (!sk)
		return;
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_TCP_RETRANSMIT;
	e.direction = KTUI_DIR_SEND;
	tuple_from_sk(&e, sk);
	e.new_state = state;
	attribute_cached(&e, sk);
	emit(&e);
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_tcp_retransmit_skb(struct trace_event_raw_tcp_retransmit_skb *ctx)
{
	handle_retransmit((const struct sock *)ctx->skaddr, ctx->state);
	return 0;
}

SEC("kprobe/tcp_retransmit_skb")
int BPF_KPROBE(kp_tcp_retransmit_skb, struct sock *sk)
{
	handle_retransmit(sk, BPF_CORE_READ(sk, __sk_common.skc_state));
	return 0;
}
