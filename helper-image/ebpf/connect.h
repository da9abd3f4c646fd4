/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * connect() tracking shared by the syscall programs (connect.bpf.c) and the TCP state
 * programs (tcp_state.bpf.c): a blocking connect is reported at sys_exit_connect with the
 * syscall's result; a non-blocking one (EINPROGRESS is not a failure) when the socket leaves
 * SYN_SENT, with the error the kernel recorded (sk_err / sock:inet_sk_error_report).
 */
#ifndef KTUI_CONNECT_H
#define KTUI_CONNECT_H

#include "common.h"

/* One connect() in flight, per thread. */
struct connect_call {
	__u64 start_ns;
	__u64 sk;
	__s64 fd;
	__u16 family;
	__u16 dport;
	__u32 _pad;
	__u8 daddr[16];
};

/* One TCP socket in SYN_SENT. */
struct connect_state {
	__u64 start_ns;
	__u64 done_ns;
	__s32 err;
	__u8 done;     /* left SYN_SENT while connect() was still running */
	__u8 nonblock; /* connect() returned EINPROGRESS (or EINTR): report on completion */
	__u16 _pad;
	/* Local address when the handshake ended: a failed connect() resets it before the
	 * syscall returns. */
	__u8 saddr[16];
};

/* The last sock:inet_sk_error_report on this CPU (it fires right next to the state change). */
struct err_report {
	__u64 ts_ns;
	__s32 error;
	__u16 sport;
	__u16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct connect_call);
} connect_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct connect_state);
} connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct err_report);
} last_err SEC(".maps");

static __always_inline void emit_connect(const struct sock *sk, __s32 err, __u64 latency_ns,
					 const struct connect_call *call,
					 const struct connect_state *cs, bool current_owner)
{
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_CONNECT;
	tuple_from_sk(&e, sk);
	if (cs && cs->done) {
		__u64 *src = (__u64 *)e.saddr;
		if (src[0] == 0 && src[1] == 0)
			__builtin_memcpy(e.saddr, cs->saddr, 16);
	}
	if (e.dport == 0 && call) {
		e.dport = call->dport;
		if (!e.family)
			e.family = call->family;
		__builtin_memcpy(e.daddr, call->daddr, 16);
	}
	e.err = err;
	e.latency_ns = latency_ns;
	if (current_owner)
		attribute_current(&e, sk);
	else
		attribute_cached(&e, sk);
	emit(&e);
}

/* The error of a socket that just left SYN_SENT for CLOSE. */
static __always_inline __s32 connect_error(const struct sock *sk, __u16 sport, __u16 dport)
{
	__s32 err = BPF_CORE_READ(sk, sk_err);
	if (err)
		return err;
	__u32 zero = 0;
	struct err_report *r = bpf_map_lookup_elem(&last_err, &zero);
	if (r && r->sport == sport && r->dport == dport &&
	    bpf_ktime_get_ns() - r->ts_ns < 1000000ULL)
		return r->error;
	return 0;
}

/* TCP state change seen for a socket that may be connecting. */
static __always_inline void connect_on_state(const struct sock *sk, int old, int new,
					     __u16 sport, __u16 dport)
{
	__u64 key = (__u64)sk;
	__u64 now = bpf_ktime_get_ns();
	if (old == K_TCP_CLOSE && new == K_TCP_SYN_SENT) {
		struct connect_state cs = {};
		cs.start_ns = now;
		bpf_map_update_elem(&connecting, &key, &cs, BPF_ANY);
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct connect_call *call = bpf_map_lookup_elem(&connect_calls, &tid);
		if (call)
			call->sk = key;
		return;
	}
	if (old != K_TCP_SYN_SENT)
		return;
	struct connect_state *cs = bpf_map_lookup_elem(&connecting, &key);
	if (!cs)
		return;
	__s32 err = 0;
	if (new != K_TCP_ESTABLISHED)
		err = connect_error(sk, sport, dport);
	if (cs->nonblock) {
		/* connect() already returned EINPROGRESS: this is the result. A close without
		 * an error is the application giving up: not a connect failure, not reported. */
		if (new == K_TCP_ESTABLISHED || err)
			emit_connect(sk, err, now - cs->start_ns, NULL, NULL, false);
		bpf_map_delete_elem(&connecting, &key);
		return;
	}
	cs->done = 1;
	cs->err = err;
	cs->done_ns = now;
	struct ktui_event t = {};
	tuple_from_sk(&t, sk);
	__builtin_memcpy(cs->saddr, t.saddr, 16);
}

#endif
