/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Maps and helpers shared by every program: guardrails (filters, sampling, rate limit,
 * counters) applied before the ring buffer reserve, socket tuples, and owner attribution.
 */
#ifndef KTUI_COMMON_H
#define KTUI_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "events.h"

#define AF_INET 2
#define AF_INET6 10
#define K_IPPROTO_TCP 6
#define K_IPPROTO_UDP 17
#define K_EINTR 4
#define K_EAGAIN 11
#define K_EALREADY 114
#define K_EINPROGRESS 115
#define K_EISCONN 106
#define K_MSG_PEEK 2
#define K_S_IFMT 00170000
#define K_S_IFSOCK 0140000
#define NSEC_PER_SEC 1000000000ULL

/* TCP states (include/net/tcp_states.h), stable kernel ABI. */
#define K_TCP_ESTABLISHED 1
#define K_TCP_SYN_SENT 2
#define K_TCP_SYN_RECV 3
#define K_TCP_CLOSE 7
#define K_TCP_LISTEN 10

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* User-space and wire ABI structs: fixed layouts, deliberately not CO-RE relocated. */
struct k_sockaddr_in {
	__u16 family;
	__be16 port;
	__be32 addr;
	__u8 zero[8];
};

struct k_sockaddr_in6 {
	__u16 family;
	__be16 port;
	__u32 flowinfo;
	__u8 addr[16];
	__u32 scope_id;
};

struct k_iovec {
	__u64 base;
	__u64 len;
};

struct k_msghdr {
	__u64 name;
	__s32 namelen;
	__s32 _pad0;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
	__u32 _pad1;
};

struct k_mmsghdr {
	struct k_msghdr hdr;
	__u32 len;
	__u32 _pad;
};

struct k_iphdr {
	__u8 ihl_version;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct k_ipv6hdr {
	__u32 vtc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* ---------------------------------------------------------------- maps */

/* Records for user space. Size is set by the loader (--ringbuf-bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KTUI_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ktui_config);
} ktui_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ktui_guard);
} guard_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ktui_port_set);
} filter_ports SEC(".maps");

/* The fold's clock: CLOCK_MONOTONIC ns written by user space every few milliseconds, so that a
 * folded repeat costs no clock read (a TSC read is a fifth of a storm's cost in a VM). 0 = not
 * running: nothing folds. Records still carry bpf_ktime_get_ns(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} agg_clock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} filter_netns SEC(".maps");

/* Socket address -> the process that owns it (filled only in process context). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct ktui_owner);
} sock_owner SEC(".maps");

struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

/* (netns, local port) of a listening socket -> its owner: accepted children are created in
 * softirq context, where the current task is whoever happened to run. Filled at listen()
 * and accept(), and seeded from /proc by user space for listeners older than the session. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct ktui_owner);
} listen_owner SEC(".maps");

/* Not used by any program: anchors the record types in the object's BTF so user space can
 * check its #[repr(C)] mirrors against them (events/layout.rs). */
struct ktui_layouts {
	struct ktui_dns_event dns;
	struct ktui_config config;
	struct ktui_owner owner;
	struct ktui_guard guard;
	struct listen_key listen;
	struct ktui_agg agg;
	struct ktui_port_set ports;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ktui_layouts);
} layouts SEC(".maps");

/* ---------------------------------------------------------------- guardrails */

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline struct ktui_config *get_config(void)
{
	__u32 zero = 0;
	struct ktui_config *cfg = bpf_map_lookup_elem(&ktui_cfg, &zero);
	if (!cfg || !(cfg->flags & KTUI_CFG_ENABLED))
		return NULL;
	return cfg;
}

/* The filters that need neither port (before the destination of an unconnected socket is
 * read, or a packet's headers): protocol and network namespace. A cheap early "no". */
static __always_inline bool netns_proto_pass(const struct ktui_config *cfg, __u16 proto,
					     __u32 netns)
{
	__u32 flags = cfg->flags;
	if (flags & (KTUI_CFG_PROTO_TCP | KTUI_CFG_PROTO_UDP)) {
		if (proto == K_IPPROTO_TCP && !(flags & KTUI_CFG_PROTO_TCP))
			return false;
		if (proto == K_IPPROTO_UDP && !(flags & KTUI_CFG_PROTO_UDP))
			return false;
	}
	if (flags & KTUI_CFG_FILTER_NETNS) {
		if (!bpf_map_lookup_elem(&filter_netns, &netns))
			return false;
	}
	return true;
}

static __always_inline bool port_in(const struct ktui_port_set *ports, __u16 port)
{
	return ports->bits[(port >> 6) & 1023] & (1ULL << (port & 63));
}

/* The filters on the tuple besides the namespace: protocol, DNS-only, ports. Not counted. */
static __always_inline bool tuple_pass(const struct ktui_config *cfg, const struct ktui_event *e)
{
	__u32 flags = cfg->flags;
	if (flags & (KTUI_CFG_PROTO_TCP | KTUI_CFG_PROTO_UDP)) {
		if (e->proto == K_IPPROTO_TCP && !(flags & KTUI_CFG_PROTO_TCP))
			return false;
		if (e->proto == K_IPPROTO_UDP && !(flags & KTUI_CFG_PROTO_UDP))
			return false;
		if (e->proto != K_IPPROTO_TCP && e->proto != K_IPPROTO_UDP)
			return false;
	}
	if (flags & KTUI_CFG_DNS_ONLY) {
		if (e->proto != K_IPPROTO_TCP && e->proto != K_IPPROTO_UDP)
			return false;
		if (e->sport != 53 && e->dport != 53)
			return false;
	}
	if (flags & KTUI_CFG_FILTER_PORTS) {
		__u32 zero = 0;
		const struct ktui_port_set *ports = bpf_map_lookup_elem(&filter_ports, &zero);
		if (!ports || (!port_in(ports, e->sport) && !port_in(ports, e->dport)))
			return false;
	}
	return true;
}

/*
 * The order of work for every event, cheapest first, so that an event nobody asked for costs
 * as little as possible (and never a map update, a payload read or a ring-buffer reserve):
 *   1. the program's own early exits (wrong protocol, consumed skb, ...);
 *   2. `wanted`: the subscription's filters (ports, protocol, DNS-only, netns) on the tuple
 *      alone; the hot programs split it, `netns_proto_pass` before a peer or header is read,
 *      `tuple_pass` after;
 *   3. `unfolded`: a repeat of a flow that already has a record in this window only counts
 *      (aggregated); anything else is counted as generated;
 *   4. attribution (owner maps), then `budget`: 1-in-N sampling, the per-CPU token bucket;
 *   5. reserve, fill, `submit` without waking the reader (it is woken by a fill threshold, or
 *      reads on its own timer).
 */
static __always_inline bool wanted(const struct ktui_config *cfg, const struct ktui_event *e)
{
	return netns_proto_pass(cfg, e->proto, e->netns) && tuple_pass(cfg, e);
}

/* 1-in-N sampling, then the per-CPU token bucket. True = go ahead and reserve. */
static __always_inline bool budget(const struct ktui_config *cfg)
{
	__u32 zero = 0;
	struct ktui_guard *g = bpf_map_lookup_elem(&guard_state, &zero);
	if (!g)
		return false;
	__u32 n = cfg->sample_n;
	if (n > 1) {
		__u64 seq = g->seq;
		g->seq = seq + 1;
		if (seq % n != 0) {
			count(KTUI_CTR_SAMPLED_OUT);
			return false;
		}
	}
	__u64 rate = cfg->rate_per_sec;
	if (rate) {
		__u64 now = bpf_ktime_get_ns();
		__u64 elapsed = now - g->last_ns;
		if (elapsed > 10 * NSEC_PER_SEC)
			elapsed = 10 * NSEC_PER_SEC;
		if (rate > 100000000ULL)
			rate = 100000000ULL;
		__u64 cap = cfg->burst;
		if (cap < 1)
			cap = 1;
		if (cap > 100000000ULL)
			cap = 100000000ULL;
		cap *= NSEC_PER_SEC;
		__u64 tokens = g->tokens + elapsed * rate;
		if (tokens > cap)
			tokens = cap;
		g->last_ns = now;
		if (tokens < NSEC_PER_SEC) {
			g->tokens = tokens;
			count(KTUI_CTR_RATE_LIMITED);
			return false;
		}
		g->tokens = tokens - NSEC_PER_SEC;
	}
	return true;
}

/* Hand a reserved record of `size` bytes over. The reader is woken when this record takes
 * the unread data across a multiple of `wake_bytes` (1/16 of the ring): a storm costs one
 * wake-up per batch, not one per record, also while the reader is behind; a crossing missed
 * in a race with another CPU is caught at the next multiple. The reader also reads on a short
 * timer, so a lone event waits at most that long. */
static __always_inline void submit(const struct ktui_config *cfg, void *rec, __u64 size)
{
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u64 wake = cfg->wake_bytes;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 before = avail > size + 8 ? avail - size - 8 : 0;
	if (wake && avail >= wake && before / wake != avail / wake)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

/* The budget, then a ring-buffer record of `size` bytes (a full ring counts as lost). */
static __always_inline void *reserve_budgeted(const struct ktui_config *cfg, __u64 size)
{
	if (!budget(cfg))
		return NULL;
	void *out = bpf_ringbuf_reserve(&events, size, 0);
	if (!out)
		count(KTUI_CTR_LOST);
	return out;
}

/* ---------------------------------------------------------------- storm aggregation */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KTUI_AGG_SLOTS);
	__type(key, __u32);
	__type(value, struct ktui_agg);
} agg SEC(".maps");

static __always_inline bool foldable(__u16 kind)
{
	return kind == KTUI_KIND_UDP_SEND || kind == KTUI_KIND_UDP_RECV ||
	       kind == KTUI_KIND_DROP || kind == KTUI_KIND_TCP_RETRANSMIT;
}

/* The words of an event's flow (events.h, KTUI_FLOW_OFFSET), and the masks of the two that
 * are shared with fields outside it. */
#define KTUI_FLOW_MASK0 0xffffffff00000000ULL /* netns, not uid */
#define KTUI_FLOW_MASK3 0x000000ffffffffffULL /* dport .. direction, not flags/payload_len */

static __always_inline const __u64 *flow_words(const struct ktui_event *e)
{
	return (const __u64 *)((const char *)e + KTUI_FLOW_OFFSET);
}

/* The slot of a flow: the top bits of a multiply-add hash of its words (independent
 * multiplies, no chain). Flows that share a slot take it over from each other; `same_flow`
 * tells them apart exactly, so the hash only spreads. */
static __always_inline __u32 flow_slot(const struct ktui_event *e)
{
	const __u64 *w = flow_words(e);
	__u64 h = (w[0] & KTUI_FLOW_MASK0) * 0x9e3779b97f4a7c15ULL +
		  w[1] * 0xc2b2ae3d27d4eb4fULL + w[2] * 0x165667b19e3779f9ULL +
		  (w[3] & KTUI_FLOW_MASK3) * 0xd6e8feb86659fd93ULL +
		  w[4] * 0xff51afd7ed558ccdULL + w[5] * 0xc4ceb9fe1a85ec53ULL +
		  w[6] * 0x94d049bb133111ebULL + w[7] * 0xbf58476d1ce4e5b9ULL;
	return (h ^ (h >> 29)) >> (64 - KTUI_AGG_SLOT_BITS);
}

/* Whether two events are of one flow: their flow words, compared. */
static __always_inline bool same_flow(const struct ktui_event *x, const struct ktui_event *y)
{
	const __u64 *a = flow_words(x);
	const __u64 *b = flow_words(y);
	return !(((a[0] ^ b[0]) & KTUI_FLOW_MASK0) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		 ((a[3] ^ b[3]) & KTUI_FLOW_MASK3) | (a[4] ^ b[4]) | (a[5] ^ b[5]) |
		 (a[6] ^ b[6]) | (a[7] ^ b[7]));
}

static __always_inline struct ktui_agg *agg_slot(const struct ktui_event *e)
{
	__u32 idx = flow_slot(e);
	return bpf_map_lookup_elem(&agg, &idx);
}

static __always_inline __u64 fold_clock(void)
{
	__u32 zero = 0;
	__u64 *now = bpf_map_lookup_elem(&agg_clock, &zero);
	return now ? *now : 0;
}

/* A repeat of a flow whose window is open on this CPU: counted in its slot, true (no
 * record). Times of repeats come from the fold's clock (a few ms coarse, never before the
 * record that opened the window); `e->ts_ns` need not be set yet. */
static __always_inline bool fold(const struct ktui_config *cfg, const struct ktui_event *e)
{
	if (!cfg->agg_window_ns || !foldable(e->kind))
		return false;
	__u64 now = fold_clock();
	if (!now)
		return false;
	struct ktui_agg *a = agg_slot(e);
	if (!a || !a->key || !same_flow(e, &a->first))
		return false;
	if (now < a->window_ns)
		now = a->window_ns;
	if (now - a->window_ns >= cfg->agg_window_ns)
		return false;
	if (!a->first_ns)
		a->first_ns = now;
	a->last_ns = now;
	a->count += 1;
	a->bytes += e->bytes;
	count(KTUI_CTR_AGGREGATED);
	return true;
}

/* Past the filters and the fold: an event with a record of its own is generated (a folded
 * one counts as aggregated only; user space adds the two). */
static __always_inline bool unfolded(const struct ktui_config *cfg, const struct ktui_event *e)
{
	if (fold(cfg, e))
		return false;
	count(KTUI_CTR_GENERATED);
	return true;
}

/* `e` went out as a record: it opens a new window of its flow (taking the slot over from
 * another flow if need be). */
static __always_inline void open_window(const struct ktui_config *cfg, const struct ktui_event *e)
{
	if (!cfg->agg_window_ns || !foldable(e->kind))
		return;
	struct ktui_agg *a = agg_slot(e);
	if (!a)
		return;
	if (!a->key || !same_flow(e, &a->first)) {
		/* Counts first, then the new owner: a copy user space takes meanwhile sees old
		 * counts with the old or new generation, which it can tell apart (torn reads). */
		a->taken_count = a->count;
		a->taken_bytes = a->bytes;
		a->first_ns = 0;
		a->last_ns = 0;
		asm volatile("" ::: "memory");
		a->generation += 1;
		a->key = 1;
	}
	a->window_ns = e->ts_ns;
	__builtin_memcpy(&a->first, e, sizeof(a->first));
}

/* Steps 4-5 once the owner is filled in: the budget, then the record, which opens a window
 * of its flow (for the hot programs, which `fold` before paying for attribution). */
static __always_inline void emit_budgeted(const struct ktui_config *cfg, const struct ktui_event *e)
{
	struct ktui_event *out = reserve_budgeted(cfg, sizeof(*out));
	if (!out)
		return;
	__builtin_memcpy(out, e, sizeof(*out));
	submit(cfg, out, sizeof(*out));
	open_window(cfg, e);
}

/* Steps 2-5 for an event whose owner is already filled in (the programs that are not hot). */
static __always_inline void emit(const struct ktui_event *e)
{
	struct ktui_config *cfg = get_config();
	if (!cfg || !wanted(cfg, e) || !unfolded(cfg, e))
		return;
	emit_budgeted(cfg, e);
}

/* ---------------------------------------------------------------- sockets */

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline __u16 sk_proto(const struct sock *sk)
{
	return (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/* Local/remote addresses and ports, protocol and netns of a socket. */
static __always_inline void tuple_from_sk(struct ktui_event *e, const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sk = (__u64)sk;
	e->family = family;
	e->proto = sk_proto(sk);
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!e->sport) /* released on close (inet_put_port); the bound port is still here */
		e->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->netns = sk_netns(sk);
	if (family == AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->saddr, &s, 4);
		__builtin_memcpy(e->daddr, &d, 4);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

/* The same from a BTF pointer (tp_btf and fentry programs): direct loads, no helper calls. */
static __always_inline void tuple_from_sk_direct(struct ktui_event *e, const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;
	e->sk = (__u64)sk;
	e->family = family;
	e->proto = BPF_CORE_READ_BITFIELD(sk, sk_protocol);
	e->sport = sk->__sk_common.skc_num;
	if (!e->sport) /* released (rare): the cast is beyond struct sock for the verifier */
		e->sport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	e->netns = sk->__sk_common.skc_net.net->ns.inum;
	if (family == AF_INET) {
		__u32 s = sk->__sk_common.skc_rcv_saddr;
		__u32 d = sk->__sk_common.skc_daddr;
		__builtin_memcpy(e->saddr, &s, 4);
		__builtin_memcpy(e->daddr, &d, 4);
	} else if (family == AF_INET6) {
		__builtin_memcpy(e->saddr, sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(e->daddr, sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
	}
}

/* A user-space sockaddr (the remote end for unconnected sockets). One 8-byte read for IPv4
 * (family, port, address: a sockaddr is at least that long), a second only for IPv6. */
static __always_inline bool peer_from_user(struct ktui_event *e, const void *uaddr)
{
	struct k_sockaddr_in sa = {};
	if (!uaddr || bpf_probe_read_user(&sa, 8, uaddr))
		return false;
	if (sa.family == AF_INET) {
		e->dport = bpf_ntohs(sa.port);
		__builtin_memset(e->daddr, 0, 16);
		__builtin_memcpy(e->daddr, &sa.addr, 4);
		if (!e->family)
			e->family = AF_INET;
		return true;
	}
	if (sa.family == AF_INET6) {
		struct k_sockaddr_in6 sa6 = {};
		if (bpf_probe_read_user(&sa6, sizeof(sa6), uaddr))
			return false;
		e->dport = bpf_ntohs(sa6.port);
		__builtin_memcpy(e->daddr, sa6.addr, 16);
		if (!e->family)
			e->family = AF_INET6;
		return true;
	}
	return false;
}

/* Same, for a sockaddr in kernel memory (kprobe variants). */
static __always_inline bool peer_from_kernel(struct ktui_event *e, const void *kaddr)
{
	__u16 family = 0;
	if (!kaddr || bpf_probe_read_kernel(&family, sizeof(family), kaddr))
		return false;
	if (family == AF_INET) {
		struct k_sockaddr_in sa = {};
		if (bpf_probe_read_kernel(&sa, sizeof(sa), kaddr))
			return false;
		e->dport = bpf_ntohs(sa.port);
		__builtin_memset(e->daddr, 0, 16);
		__builtin_memcpy(e->daddr, &sa.addr, 4);
		return true;
	}
	if (family == AF_INET6) {
		struct k_sockaddr_in6 sa = {};
		if (bpf_probe_read_kernel(&sa, sizeof(sa), kaddr))
			return false;
		e->dport = bpf_ntohs(sa.port);
		__builtin_memcpy(e->daddr, sa.addr, 16);
		return true;
	}
	return false;
}

/* The socket behind file descriptor `fd` of the current task, or NULL. */
static __always_inline struct sock *fd_to_sk(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & K_S_IFMT) != K_S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	if (!sock)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

static __always_inline bool is_inet(const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	return family == AF_INET || family == AF_INET6;
}

/* ---------------------------------------------------------------- attribution */

/* The active pid namespace of `task` (task_active_pid_ns: the namespace of its pid's deepest
 * level, which is what /proc/<pid>/ns/pid shows). */
static __always_inline __u32 task_pid_ns(const struct task_struct *task)
{
	const struct pid *pid = BPF_CORE_READ(task, thread_pid);
	if (!pid)
		return 0;
	__u32 level = BPF_CORE_READ(pid, level);
	if (level >= 32) /* MAX_PID_NS_LEVEL */
		return 0;
	const struct pid_namespace *ns = NULL;
	const char *upid = (const char *)pid + bpf_core_field_offset(struct pid, numbers) +
			   level * bpf_core_type_size(struct upid);
	if (bpf_probe_read_kernel(&ns, sizeof(ns),
				  upid + bpf_core_field_offset(struct upid, ns)) ||
	    !ns)
		return 0;
	return BPF_CORE_READ(ns, ns.inum);
}

/* The current task's process context (struct ktui_proc): CO-RE reads from the task, its
 * credentials and namespaces; the security context unless the subscription turned it off. */
static __always_inline void proc_from_current(struct ktui_proc *p, __u64 uid_gid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	p->gid = uid_gid >> 32;
	p->ppid = BPF_CORE_READ(task, real_parent, tgid);
	p->ns_net = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	p->ns_mnt = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	p->ns_pid = task_pid_ns(task);
	p->ns_user = BPF_CORE_READ(task, real_cred, user_ns, ns.inum);
	p->cred = (__u64)BPF_CORE_READ(task, real_cred);
	p->nsproxy = (__u64)BPF_CORE_READ(task, nsproxy);
	p->known = 1;
	struct ktui_config *cfg = get_config();
	if (cfg && (cfg->flags & KTUI_CFG_NO_SEC))
		return;
	/* kernel_cap_t is one u64 since 6.3 and two u32 before: the same 8 bytes. */
	BPF_CORE_READ_INTO(&p->caps_eff, task, real_cred, cap_effective);
	if (bpf_core_field_exists(task->seccomp))
		p->seccomp_mode = BPF_CORE_READ(task, seccomp.mode);
	p->sec_known = 1;
}

static __always_inline void owner_fill(struct ktui_owner *o, __u64 pid_tgid, __u64 cgroup_id)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 uid_gid = bpf_get_current_uid_gid();
	o->pid = pid_tgid >> 32;
	o->tid = (__u32)pid_tgid;
	o->uid = (__u32)uid_gid;
	o->cgroup_id = cgroup_id;
	o->_pad = 0;
	BPF_CORE_READ_INTO(&o->comm, task, group_leader, comm);
	proc_from_current(&o->proc, uid_gid);
}

static __always_inline void owner_from_current(struct ktui_owner *o)
{
	owner_fill(o, bpf_get_current_pid_tgid(), bpf_get_current_cgroup_id());
}

static __always_inline void owner_into_event(struct ktui_event *e, const struct ktui_owner *o,
					     __u8 flag)
{
	e->pid = o->pid;
	e->tid = o->tid;
	e->uid = o->uid;
	e->cgroup_id = o->cgroup_id;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	__builtin_memcpy(&e->proc, &o->proc, sizeof(e->proc));
	e->flags |= flag;
}

/* Whether the remembered owner still describes the current task: same comm (an exec changes
 * it), credentials, namespaces and seccomp mode (a filter installed later). */
static __always_inline bool owner_current(const struct ktui_owner *known)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 comm[2] = {};
	const __u64 *was = (const __u64 *)known->comm;
	BPF_CORE_READ_INTO(&comm, task, group_leader, comm);
	if (comm[0] != was[0] || comm[1] != was[1])
		return false;
	if ((__u64)BPF_CORE_READ(task, real_cred) != known->proc.cred ||
	    (__u64)BPF_CORE_READ(task, nsproxy) != known->proc.nsproxy)
		return false;
	if (known->proc.sec_known && bpf_core_field_exists(task->seccomp) &&
	    (__u8)BPF_CORE_READ(task, seccomp.mode) != known->proc.seccomp_mode)
		return false;
	return true;
}

/* Process context: the current task owns `sk`; remember it and put it in the event. A busy
 * socket costs a lookup and a few loads per event: the owner and its process context are read
 * again only when the thread, cgroup, comm, credentials, namespaces or seccomp mode changed. */
static __always_inline void attribute_current(struct ktui_event *e, const struct sock *sk)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cgroup_id = bpf_get_current_cgroup_id();
	__u64 key = (__u64)sk;
	if (sk) {
		struct ktui_owner *known = bpf_map_lookup_elem(&sock_owner, &key);
		if (known && known->tid == (__u32)pid_tgid && known->cgroup_id == cgroup_id &&
		    owner_current(known)) {
			owner_into_event(e, known, KTUI_F_OWNER_CURRENT);
			return;
		}
	}
	struct ktui_owner o = {};
	owner_fill(&o, pid_tgid, cgroup_id);
	if (sk)
		bpf_map_update_elem(&sock_owner, &key, &o, BPF_ANY);
	owner_into_event(e, &o, KTUI_F_OWNER_CURRENT);
}

/* Any context: the remembered owner of `sk`, if any. */
static __always_inline bool attribute_cached(struct ktui_event *e, const struct sock *sk)
{
	if (!sk)
		return false;
	__u64 key = (__u64)sk;
	struct ktui_owner *o = bpf_map_lookup_elem(&sock_owner, &key);
	if (!o)
		return false;
	owner_into_event(e, o, KTUI_F_OWNER_CACHED);
	return true;
}

static __always_inline void forget_owner(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	bpf_map_delete_elem(&sock_owner, &key);
}

#endif
