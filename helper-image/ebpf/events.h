/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Records shared between the eBPF programs and ktui-helper (user space).
 *
 * Every struct here has a #[repr(C)] mirror in helper-image/helper/src/events/layout.rs; the
 * test `layout_matches_object_btf` reads this object's BTF and compares sizes and member
 * offsets with the Rust structs, so a change on one side only fails the build's tests.
 * Keep explicit padding: no implicit holes.
 */
#ifndef KTUI_EVENTS_H
#define KTUI_EVENTS_H

/* Event kinds (struct ktui_event.kind). */
#define KTUI_KIND_TCP_STATE 1
#define KTUI_KIND_TCP_RETRANSMIT 2
#define KTUI_KIND_TCP_RESET 3
#define KTUI_KIND_CONNECT 4
#define KTUI_KIND_UDP_SEND 5
#define KTUI_KIND_UDP_RECV 6
#define KTUI_KIND_DNS 7
#define KTUI_KIND_DROP 8

/* struct ktui_event.direction */
#define KTUI_DIR_NONE 0
#define KTUI_DIR_SEND 1
#define KTUI_DIR_RECV 2

/* struct ktui_event.flags: where pid/tid/comm/cgroup came from. */
#define KTUI_F_OWNER_CURRENT 0x01  /* the task running the probe (process context) */
#define KTUI_F_OWNER_CACHED 0x02   /* the socket -> owner LRU map */
#define KTUI_F_OWNER_LISTENER 0x04 /* the listening socket's owner (accepted child) */
#define KTUI_F_TRUNCATED 0x08      /* payload cut at KTUI_DNS_PAYLOAD bytes */

/* Per-CPU counters (map `counters`), indices. */
#define KTUI_CTR_GENERATED 0
#define KTUI_CTR_SAMPLED_OUT 1
#define KTUI_CTR_RATE_LIMITED 2
#define KTUI_CTR_LOST 3
#define KTUI_CTR_AGGREGATED 4 /* folded into a flow's counter (map `agg`), no record of its own */
#define KTUI_CTR_MAX 5

/* struct ktui_config.flags */
#define KTUI_CFG_ENABLED 0x01       /* emit anything at all */
#define KTUI_CFG_DNS_ONLY 0x02      /* port 53 (either end), TCP or UDP */
#define KTUI_CFG_FILTER_PORTS 0x04  /* either port must be in map `filter_ports` */
#define KTUI_CFG_FILTER_NETNS 0x08  /* netns inode must be in map `filter_netns` */
#define KTUI_CFG_PROTO_TCP 0x10     /* with PROTO_UDP: protocol filter; neither = all */
#define KTUI_CFG_PROTO_UDP 0x20
#define KTUI_CFG_DROP_UNSPECIFIED 0x40 /* also report SKB_DROP_REASON_NOT_SPECIFIED */
#define KTUI_CFG_NO_SEC 0x80        /* leave struct ktui_proc's seccomp_mode and caps_eff unread */

/* Most DNS payload bytes ever read (only for port 53, nothing else is read). */
#define KTUI_DNS_PAYLOAD 256

/* The owner's process context, read from its task in the kernel when the owner is the current
 * task (and from /proc by user space for listeners seeded at start). */
struct ktui_proc {
	__u64 caps_eff; /* cred->cap_effective (0 with KTUI_CFG_NO_SEC) */
	__u32 gid;      /* real gid */
	__u32 ppid;     /* real parent's tgid */
	__u32 ns_net;   /* namespace inodes, as the links in /proc/<pid>/ns show them */
	__u32 ns_mnt;
	__u32 ns_pid;   /* the active pid namespace (not pid_for_children) */
	__u32 ns_user;
	__u8 seccomp_mode; /* 0 disabled, 1 strict, 2 filter */
	__u8 known;        /* 1 = filled in; 0 = no process context (then user space shows none) */
	__u8 sec_known;    /* 1 = seccomp_mode and caps_eff were read */
	__u8 _pad[5];
	/* What the context was read from, to tell when it must be read again: credentials are
	 * replaced (never changed in place) by setuid, capset, ...; so is the nsproxy by setns
	 * and unshare. Kernel addresses, for comparison only (user space never shows them). */
	__u64 cred;
	__u64 nsproxy;
};

struct ktui_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 sk;         /* socket address, for correlation only */
	__u64 cgroup_id;  /* cgroup v2 id of the owner, 0 = unknown */
	__u64 bytes;      /* payload bytes (send/recv/dns) */
	__u64 latency_ns; /* connect latency */
	__u32 pid;        /* owner tgid, 0 = unknown */
	__u32 tid;        /* owner thread id */
	__u32 uid;
	__u32 netns;      /* network namespace inode */
	__s32 err;        /* positive errno, 0 = none */
	__u32 drop_reason; /* enum skb_drop_reason value */
	__u16 kind;       /* KTUI_KIND_* */
	__u16 family;     /* AF_INET / AF_INET6 */
	__u16 proto;      /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 sport;      /* local port, host order */
	__u16 dport;      /* remote port, host order */
	__u8 old_state;
	__u8 new_state;
	__u8 direction;   /* KTUI_DIR_* */
	__u8 flags;       /* KTUI_F_* */
	__u16 payload_len; /* bytes of payload that follow (dns records) */
	__u8 saddr[16];   /* local address (4 bytes used for AF_INET) */
	__u8 daddr[16];   /* remote address */
	char comm[16];    /* thread-group leader's comm */
	struct ktui_proc proc; /* with the owner */
};

/* A port-53 datagram: the event and the first bytes of the payload. */
struct ktui_dns_event {
	struct ktui_event ev;
	__u8 payload[KTUI_DNS_PAYLOAD];
};

/* Written by user space into map `config` (one entry). */
struct ktui_config {
	__u32 flags;        /* KTUI_CFG_* */
	__u32 sample_n;     /* keep 1 in N (per CPU); 0 or 1 = all */
	__u64 rate_per_sec; /* tokens per second per CPU; 0 = unlimited */
	__u64 burst;        /* bucket size (tokens) */
	__u64 agg_window_ns; /* fold repeats of a flow within this window; 0 = never fold */
	__u32 wake_bytes;   /* wake the reader once the ring holds this much; 0 = every record */
	__u32 _pad;
};

/* Storm aggregation (map `agg`): UDP sends/receives, retransmits and drops of one flow. The
 * flow is hashed to 64 bits, which picks a slot of a per-CPU direct-mapped table: no hash-map
 * lookup, no lock, no atomic on the hot path. The first event of a window is emitted as a
 * record and kept in the slot as the template; the repeats within the window only count. A
 * flow that lands in a slot held by another takes it over (`generation` + 1), leaving what the
 * old flow had counted in `taken_count` and `taken_bytes`. User space reads every slot once a
 * second and reports the repeats as one line with a count. */
#define KTUI_AGG_SLOT_BITS 10
#define KTUI_AGG_SLOTS (1 << KTUI_AGG_SLOT_BITS)

/* The flow of an event is compared and hashed in place (no key is built on the hot path): the eight
 * 8-byte words of struct ktui_event from `netns` to the end of `daddr`, with `uid` (the
 * first half of the first word, set by attribution) and `flags`/`payload_len` (the last three
 * bytes of the fourth word) masked out. That is netns, err (a failed send is not a repeat of a
 * successful one), drop_reason, kind, family, proto, sport, dport, old_state, new_state
 * (retransmits: the socket's state), direction, saddr and daddr. */
#define KTUI_FLOW_OFFSET 48
#define KTUI_FLOW_WORDS 8
_Static_assert(__builtin_offsetof(struct ktui_event, uid) == KTUI_FLOW_OFFSET &&
		       __builtin_offsetof(struct ktui_event, netns) == KTUI_FLOW_OFFSET + 4 &&
		       __builtin_offsetof(struct ktui_event, dport) == KTUI_FLOW_OFFSET + 24 &&
		       __builtin_offsetof(struct ktui_event, flags) == KTUI_FLOW_OFFSET + 29 &&
		       __builtin_offsetof(struct ktui_event, saddr) == KTUI_FLOW_OFFSET + 32 &&
		       __builtin_offsetof(struct ktui_event, comm) ==
			       KTUI_FLOW_OFFSET + 8 * KTUI_FLOW_WORDS,
	       "the flow words (flow_words, flow_slot, same_flow) follow struct ktui_event's layout");
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the flow word masks (common.h) assume a little-endian target"
#endif

struct ktui_agg {
	struct ktui_event first; /* the record that opened the current window */
	__u64 key;               /* 0 = free slot, else 1 (the flow is `first`'s, events.h) */
	__u64 generation;        /* takeovers by another flow */
	__u64 window_ns;         /* when the current window opened */
	__u64 count;             /* repeats folded in this slot, every flow it held (cumulative) */
	__u64 bytes;             /* their payload bytes (cumulative) */
	__u64 taken_count;       /* `count` when the current flow took the slot */
	__u64 taken_bytes;
	__u64 first_ns;          /* first repeat of the current flow */
	__u64 last_ns;           /* last repeat */
};

/* The port filter: one bit per port (value of the one-entry array `filter_ports`), so the
 * filter is one inlined array lookup and two bit tests, whatever the number of ports. */
struct ktui_port_set {
	__u64 bits[1024];
};

/* Value of the socket -> owner LRU map. */
struct ktui_owner {
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 _pad;
	char comm[16];
	struct ktui_proc proc;
};

/* Per-CPU guard state (sampling sequence and token bucket). */
struct ktui_guard {
	__u64 seq;
	__u64 tokens; /* in nanosecond-token units: 1 token = 1e9 */
	__u64 last_ns;
};

#endif
