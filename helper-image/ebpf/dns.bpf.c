/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The UDP receive syscalls (recvfrom, recvmsg): remember the user buffer and source sockaddr
 * at entry (UDP sockets only), and at exit
 *  - report a deferred udp_recv (tracepoint mode) with the source address, and
 *  - for port 53 only, copy the first KTUI_DNS_PAYLOAD bytes of the datagram for the DNS
 *    parser in user space. No other payload is ever read.
 * Sends need no syscall program: the UDP send programs read the syscall's saved registers
 * (msgcall.h `current_send`).
 */
#include "msgcall.h"

/* Take (and delete) this thread's receive call. */
static __always_inline bool take_call(struct msg_call *mc)
{
	__u32 tid = current_tid();
	struct msg_call *found = bpf_map_lookup_elem(&msg_calls, &tid);
	if (!found)
		return false;
	*mc = *found;
	bpf_map_delete_elem(&msg_calls, &tid);
	return true;
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int tp_sys_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start(ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[4]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int tp_sys_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	msg_call_start_msghdr(ctx->args[0], (const void *)ctx->args[1]);
	return 0;
}

static __always_inline void exit_recv(long ret)
{
	struct msg_call mc = {};
	if (!take_call(&mc) || ret < 0)
		return;
	struct ktui_config *cfg = get_config();
	if (!cfg)
		return;
	const struct sock *sk = (const struct sock *)mc.sk;
	struct ktui_event e = {};
	tuple_from_sk(&e, sk);
	if (mc.addr)
		peer_from_user(&e, (const void *)mc.addr);
	bool dns = e.sport == 53 || e.dport == 53;
	if (!mc.have_recv && !dns)
		return;
	attribute_current(&e, sk);
	if (mc.have_recv) {
		e.kind = KTUI_KIND_UDP_RECV;
		e.direction = KTUI_DIR_RECV;
		e.bytes = mc.recv_ret;
		e.ts_ns = mc.recv_ts;
		if (wanted(cfg, &e) && unfolded(cfg, &e))
			emit_budgeted(cfg, &e);
	}
	if (dns && wanted(cfg, &e)) {
		e.ts_ns = bpf_ktime_get_ns();
		emit_dns(cfg, &e, mc.buf, mc.len < (__u64)ret ? mc.len : (__u64)ret, ret,
			 KTUI_DIR_RECV);
	}
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
