/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* TCP state changes: tracepoint sock/inet_sock_set_state (fallback kprobe tcp_set_state). */
#include "connect.h"

static __always_inline void handle_state(const struct sock *sk, int old, int new)
{
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_TCP_STATE;
	tuple_from_sk(&e, sk);
	e.old_state = old;
	e.new_state = new;

	/* CLOSE->SYN_SENT runs inside connect(), CLOSE->LISTEN inside listen(): the current
	 * task owns the socket. Everything else may run in softirq or timer context. */
	if (old == K_TCP_CLOSE && (new == K_TCP_SYN_SENT || new == K_TCP_LISTEN)) {
		attribute_current(&e, sk);
		if (new == K_TCP_LISTEN) {
			struct listen_key lk = {.netns = e.netns, .port = e.sport};
			struct ktui_owner o = {};
			owner_from_current(&o);
			bpf_map_update_elem(&listen_owner, &lk, &o, BPF_ANY);
		}
	} else if (!attribute_cached(&e, sk) &&
		   (new == K_TCP_SYN_RECV || old == K_TCP_SYN_RECV)) {
		/* An accepted child: owned by whoever listens on its local port (until accept()
		 * tells us exactly). */
		struct listen_key lk = {.netns = e.netns, .port = e.sport};
		struct ktui_owner *o = bpf_map_lookup_elem(&listen_owner, &lk);
		if (o) {
			struct ktui_owner copy = *o;
			__u64 key = (__u64)sk;
			bpf_map_update_elem(&sock_owner, &key, &copy, BPF_ANY);
			owner_into_event(&e, &copy, KTUI_F_OWNER_LISTENER);
		}
	}

	connect_on_state(sk, old, new, e.sport, e.dport);
	emit(&e);

	if (new == K_TCP_CLOSE) {
		forget_owner(sk);
		if (old == K_TCP_LISTEN) {
			struct listen_key lk = {.netns = e.netns, .port = e.sport};
			bpf_map_delete_elem(&listen_owner, &lk);
		}
	}
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != K_IPPROTO_TCP)
		return 0;
	handle_state((const struct sock *)ctx->skaddr, ctx->oldstate, ctx->newstate);
	return 0;
}

SEC("kprobe/tcp_set_state")
int BPF_KPROBE(kp_tcp_set_state, struct sock *sk, int state)
{
	int old = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (old == state)
		return 0;
	handle_state(sk, old, state);
	return 0;
}
