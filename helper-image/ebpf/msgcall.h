/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * UDP send/recv syscalls in flight, per thread: the user buffer and peer sockaddr the
 * syscall was given. Filled at sys_enter_* only for UDP sockets; used by the UDP programs
 * (peer of unconnected sockets) and the DNS programs (first bytes of port-53 datagrams).
 */
#ifndef KTUI_MSGCALL_H
#define KTUI_MSGCALL_H

#include "common.h"

#define MC_SENDTO 1
#define MC_SENDMSG 2
#define MC_SENDMMSG 3
#define MC_RECVFROM 4
#define MC_RECVMSG 5

/* Most messages of one sendmmsg() looked at for DNS (glibc sends two: A and AAAA). */
#define MMSG_MAX 4

struct msg_call {
	__u64 sk;
	__u64 buf;   /* user buffer, or iov[0].iov_base */
	__u64 addr;  /* user sockaddr: dest_addr / src_addr / msg_name */
	__u64 mmsg;  /* sendmmsg vector */
	__u64 len;   /* buffer length, or iov[0].iov_len */
	__u64 recv_ts;
	__s32 recv_ret; /* from sock:sock_recv_length (deferred udp_recv) */
	__u16 kind;
	__u16 idx;   /* next sendmmsg message for sock:sock_send_length */
	__u8 have_recv;
	__u8 _pad[7];
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

static __always_inline void msg_call_start(long fd, __u16 kind, __u64 buf, __u64 len,
					   __u64 addr, __u64 mmsg)
{
	struct sock *sk = udp_sk_of_fd(fd);
	if (!sk)
		return;
	struct msg_call mc = {};
	mc.sk = (__u64)sk;
	mc.kind = kind;
	mc.buf = buf;
	mc.len = len;
	mc.addr = addr;
	mc.mmsg = mmsg;
	__u32 tid = current_tid();
	bpf_map_update_elem(&msg_calls, &tid, &mc, BPF_ANY);
}

/* sendmsg/recvmsg: name, iov[0] from the user msghdr. */
static __always_inline void msg_call_start_msghdr(long fd, __u16 kind, const void *umsg)
{
	struct k_msghdr m = {};
	struct k_iovec iov = {};
	if (bpf_probe_read_user(&m, sizeof(m), umsg))
		return;
	if (m.iovlen > 0 && m.iov)
		bpf_probe_read_user(&iov, sizeof(iov), (const void *)m.iov);
	msg_call_start(fd, kind, iov.base, iov.len, m.name, 0);
}

#endif
