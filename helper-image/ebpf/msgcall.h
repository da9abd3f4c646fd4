/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The syscall behind a UDP send or receive.
 *
 * Sends: the user buffer and destination of the sendto/sendmsg/sendmmsg the current task is
 * in, read from the registers it saved at syscall entry (`current_send`). No syscall
 * tracepoint is needed, so a send storm pays for one socket tracepoint per datagram only
 * (a syscall tracepoint costs every task a slow syscall path and builds a record per call).
 *
 * Receives: recvfrom/recvmsg in flight, per thread (`msg_calls`, filled at sys_enter_* for UDP
 * sockets only): the source address is written to user memory after the socket tracepoint,
 * so a receive is reported at the syscall's exit.
 *
 * Both feed the UDP programs (peer of unconnected sockets) and DNS (the first bytes of port-53
 * datagrams; no other payload is ever read).
 */
#ifndef KTUI_MSGCALL_H
#define KTUI_MSGCALL_H

#include "common.h"

/* x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) that reach sock_sendmsg. */
#define NR_SENDTO 44
#define NR_SENDMSG 46
#define NR_SENDMMSG 307

struct msg_call {
	__u64 sk;
	__u64 buf;   /* user buffer, or iov[0].iov_base */
	__u64 addr;  /* user sockaddr: src_addr / msg_name */
	__u64 len;   /* buffer length, or iov[0].iov_len */
	__u64 recv_ts;
	__s32 recv_ret; /* from sock:sock_recv_length (deferred udp_recv) */
	__u8 have_recv;
	__u8 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct msg_call);
} msg_calls SEC(".maps");

static __always_inline __u32 current_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* The UDP socket behind `fd`, or NULL. */
static __always_inline struct sock *udp_sk_of_fd(long fd)
{
	struct sock *sk = fd_to_sk(fd);
	if (!sk || !is_inet(sk) || sk_proto(sk) != K_IPPROTO_UDP)
		return NULL;
	return sk;
}

static __always_inline void msg_call_start(long fd, __u64 buf, __u64 len,
					   __u64 addr)
{
	struct sock *sk = udp_sk_of_fd(fd);
	if (!sk)
		return;
	struct msg_call mc = {};
	mc.sk = (__u64)sk;
	mc.buf = buf;
	mc.len = len;
	mc.addr = addr;
	__u32 tid = current_tid();
	bpf_map_update_elem(&msg_calls, &tid, &mc, BPF_ANY);
}

/* sendmsg/recvmsg: name, iov[0] from the user msghdr. */
static __always_inline void msg_call_start_msghdr(long fd, const void *umsg)
{
	struct k_msghdr m = {};
	struct k_iovec iov = {};
	if (bpf_probe_read_user(&m, sizeof(m), umsg))
		return;
	if (m.iovlen > 0 && m.iov)
		bpf_probe_read_user(&iov, sizeof(iov), (const void *)m.iov);
	msg_call_start(fd, iov.base, iov.len, m.name);
}

/* ---- sends, from the saved registers */

/* Per thread: the next message of a sendmmsg() (sock_send_length fires once per message). */
struct mmsg_pos {
	__u64 vec;
	__u32 idx;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct mmsg_pos);
} mmsg_pos SEC(".maps");

struct send_args {
	__u64 buf;  /* first payload byte in user memory */
	__u64 len;  /* bytes there */
	__u64 addr; /* user sockaddr of the destination, 0 = none (connected socket) */
};

/* buf/len/addr from a user msghdr. */
static __always_inline bool send_args_of_msghdr(struct send_args *a, const struct k_msghdr *m)
{
	struct k_iovec iov = {};
	if (m->iovlen > 0 && m->iov &&
	    bpf_probe_read_user(&iov, sizeof(iov), (const void *)m->iov))
		return false;
	a->buf = iov.base;
	a->len = iov.len;
	a->addr = m->name;
	return true;
}

/* The send syscall the current task is in (process context), from its saved registers. False
 * when it is in none that ktui reads (write(2), io_uring, in-kernel senders) or the kernel
 * lacks bpf_task_pt_regs (before 5.15). */
static __always_inline bool current_send(struct send_args *a)
{
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return false;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	/* A BTF pointer: direct loads (no helper call per register). */
	long nr = regs->orig_ax;
	__u64 arg1 = regs->si;
	if (nr == NR_SENDTO) {
		a->buf = arg1;
		a->len = regs->dx;
		a->addr = regs->r8;
		return true;
	}
	if (nr == NR_SENDMSG) {
		struct k_msghdr m = {};
		if (bpf_probe_read_user(&m, sizeof(m), (const void *)arg1))
			return false;
		return send_args_of_msghdr(a, &m);
	}
	if (nr == NR_SENDMMSG) {
		/* Messages go out in order, one sock_send_length each: count them per thread,
		 * starting over for another vector or past its length. */
		__u32 vlen = regs->dx;
		__u32 tid = current_tid();
		struct mmsg_pos *p = bpf_map_lookup_elem(&mmsg_pos, &tid);
		__u32 idx = 0;
		if (p && p->vec == arg1 && p->idx < vlen)
			idx = p->idx;
		struct mmsg_pos next = {.vec = arg1, .idx = idx + 1};
		bpf_map_update_elem(&mmsg_pos, &tid, &next, BPF_ANY);
		if (idx >= 1024)
			return false;
		struct k_mmsghdr mh = {};
		if (bpf_probe_read_user(&mh, sizeof(mh),
					(const void *)(arg1 + idx * sizeof(struct k_mmsghdr))))
			return false;
		return send_args_of_msghdr(a, &mh.hdr);
	}
	return false;
}

/* ---- DNS */

/* A port-53 datagram the subscription wants (the caller checked `wanted` on its tuple):
 * budget, then the event and the first bytes of its payload in one record. `e` carries the
 * tuple and owner. */
static __always_inline void emit_dns(const struct ktui_config *cfg, const struct ktui_event *udp,
				     __u64 ubuf, __u64 avail, __u64 total, __u8 dir)
{
	if (udp->sport != 53 && udp->dport != 53)
		return;
	count(KTUI_CTR_GENERATED);
	struct ktui_dns_event *out = reserve_budgeted(cfg, sizeof(*out));
	if (!out)
		return;
	/* Straight into the record: a stack copy of the event would not fit beside the
	 * caller's. */
	__builtin_memcpy(&out->ev, udp, sizeof(out->ev));
	out->ev.kind = KTUI_KIND_DNS;
	out->ev.direction = dir;
	out->ev.bytes = total;
	out->ev.err = 0;
	__u32 n = avail > KTUI_DNS_PAYLOAD ? KTUI_DNS_PAYLOAD : (__u32)avail;
	if (total > n)
		out->ev.flags |= KTUI_F_TRUNCATED;
	out->ev.payload_len = 0;
	if (n > 0 && n <= KTUI_DNS_PAYLOAD && ubuf &&
	    !bpf_probe_read_user(out->payload, n, (const void *)ubuf))
		out->ev.payload_len = n;
	submit(cfg, out, sizeof(*out));
}

#endif
