/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The UDP send/recv syscalls (sendto, sendmsg, sendmmsg, recvfrom, recvmsg): remember the
 * user buffer and peer sockaddr at entry (UDP sockets only), and at exit
 *  - report a deferred udp_recv (tracepoint mode) with the source address, and
 *  - for port 53 only, copy the first KTUI_DNS_PAYLOAD bytes of the datagram for the DNS
 *    parser in user space. No other payload is ever read.
 */
#include "msgcall.h"

/* Admit, reserve, copy the header and the first bytes of the datagram, submit. */
static __always_inline void emit_dns(struct ktui_event *e, __u64 ubuf, __u64 avail,
				     __u64 total, __u8 dir)
{
	if (e->sport != 53 && e->dport != 53)
		return;
	e->kind = KTUI_KIND_DNS;
	e->direction = dir;
	e->bytes = total;
	if (!admit(e))
		return;
	struct ktui_dns_event *out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
	if (!out) {
		count(KTUI_CTR_LOST);
		return;
	}
	__builtin_memcpy(&out->ev, e, sizeof(out->ev));
	__u32 n = avail > KTUI_DNS_PAYLOAD ? KTUI_DNS_PAYLOAD : (__u32)avail;
	if (total > n)
		out->ev.flags |= KTUI_F_TRUNCATED;
	out->ev.payload_len = 0;
	if (n > 0 && n <= KTUI_DNS_PAYLOAD && ubuf &&
	    !bpf_probe_read_user(out->payload, n, (const void *)ubuf))
		out->ev.payload_len = n;
	bpf_ringbuf_submit(out, 0);
}

/* Take (and delete) this thread's call of `kind1` or `kind2`. */
static __always_inline bool take_call(struct msg_call *mc, __u16 kind1, __u16 kind2)
{
	__u32 tid = current_tid();
	struct msg_call *found = bpf_map_lookup_elem(&msg_calls, &tid);
	if (!found)
		return false;
	*mc = *found;
	bpf_map_delete_elem(&msg_calls, &tid);
	return mc->kind == kind1 || mc->kind == kind2;
}

static __always_inline void base_event(struct ktui_event *e, const struct msg_call *mc)
{
	const struct sock *sk = (const struct sock *)mc->sk;
	e->ts_ns = bpf_ktime_get_ns();
	tuple_from_sk(e, sk);
	attribute_current(e, sk);
}

/* ---- sends */

SEC("tracepoint/syscalls/sys_enter_sendto")
int tp_sys_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start(ctx->args[0], MC_SENDTO, ctx->args[1], ctx->args[2], ctx->args[4], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_sys_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start_msghdr(ctx->args[0], MC_SENDMSG, (const void *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int tp_sys_enter_sendmmsg(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start(ctx->args[0], MC_SENDMMSG, 0, 0, 0, ctx->args[1]);
	return 0;
}

static __always_inline void exit_send(long ret)
{
	struct msg_call mc = {};
	if (!take_call(&mc, MC_SENDTO, MC_SENDMSG) || ret <= 0)
		return;
	struct ktui_event e = {};
	base_event(&e, &mc);
	if (mc.addr)
		peer_from_user(&e, (const void *)mc.addr);
	emit_dns(&e, mc.buf, mc.len < (__u64)ret ? mc.len : (__u64)ret, ret, KTUI_DIR_SEND);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int tp_sys_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	exit_send(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int tp_sys_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	exit_send(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int tp_sys_exit_sendmmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct msg_call mc = {};
	long ret = ctx->ret;
	if (!take_call(&mc, MC_SENDMMSG, MC_SENDMMSG) || ret <= 0 || !mc.mmsg)
		return 0;
	for (int i = 0; i < MMSG_MAX; i++) {
		if (i >= ret)
			break;
		struct k_mmsghdr mh = {};
		struct k_iovec iov = {};
		if (bpf_probe_read_user(&mh, sizeof(mh),
					(const void *)(mc.mmsg + i * sizeof(struct k_mmsghdr))))
			break;
		if (mh.hdr.iovlen > 0 && mh.hdr.iov)
			bpf_probe_read_user(&iov, sizeof(iov), (const void *)mh.hdr.iov);
		struct ktui_event e = {};
		base_event(&e, &mc);
		if (mh.hdr.name)
			peer_from_user(&e, (const void *)mh.hdr.name);
		emit_dns(&e, iov.base, iov.len < mh.len ? iov.len : mh.len, mh.len,
			 KTUI_DIR_SEND);
	}
	return 0;
}

/* ---- receives */

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int tp_sys_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start(ctx->args[0], MC_RECVFROM, ctx->args[1], ctx->args[2], ctx->args[4], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int tp_sys_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start_msghdr(ctx->args[0], MC_RECVMSG, (const void *)ctx->args[1]);
	return 0;
}

static __always_inline void exit_recv(long ret)
{
	struct msg_call mc = {};
	if (!take_call(&mc, MC_RECVFROM, MC_RECVMSG) || ret < 0)
		return;
	struct ktui_event e = {};
	base_event(&e, &mc);
	if (mc.addr)
		peer_from_user(&e, (const void *)mc.addr);
	if (mc.have_recv) {
		e.kind = KTUI_KIND_UDP_RECV;
		e.direction = KTUI_DIR_RECV;
		e.bytes = mc.recv_ret;
		e.ts_ns = mc.recv_ts;
		emit(&e);
		e.ts_ns = bpf_ktime_get_ns();
	}
	emit_dns(&e, mc.buf, mc.len < (__u64)ret ? mc.len : (__u64)ret, ret, KTUI_DIR_RECV);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_sys_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	exit_recv(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_sys_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	exit_recv(ctx->ret);
	return 0;
}
