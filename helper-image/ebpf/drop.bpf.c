/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Packet drops with the kernel's reason: tracepoint skb/kfree_skb. User space aggregates them
 * per reason and netns/pod and names the reason from the kernel's BTF. */
#include "common.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Addresses and ports from the packet headers; local end first for received packets. */
static __always_inline void tuple_from_skb(struct ktui_event *e, const struct sk_buff *skb,
					   __u16 ethertype)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	if (!head || nh == (__u16)~0U)
		return;
	__u8 l4 = 0;
	__u16 l4off = 0;
	if (ethertype == ETH_P_IP) {
		struct k_iphdr ip = {};
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return;
		e->family = AF_INET;
		l4 = ip.protocol;
		__builtin_memcpy(e->saddr, &ip.saddr, 4);
		__builtin_memcpy(e->daddr, &ip.daddr, 4);
		l4off = nh + (ip.ihl_version & 0x0f) * 4;
	} else if (ethertype == ETH_P_IPV6) {
		struct k_ipv6hdr ip6 = {};
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return;
		e->family = AF_INET6;
		l4 = ip6.nexthdr;
		__builtin_memcpy(e->saddr, ip6.saddr, 16);
		__builtin_memcpy(e->daddr, ip6.daddr, 16);
		l4off = nh + sizeof(struct k_ipv6hdr);
	} else {
		return;
	}
	e->proto = l4;
	if (th != (__u16)~0U && th > nh)
		l4off = th;
	if (l4 == K_IPPROTO_TCP || l4 == K_IPPROTO_UDP) {
		__be16 ports[2] = {};
		if (!bpf_probe_read_kernel(ports, sizeof(ports), head + l4off)) {
			e->sport = bpf_ntohs(ports[0]);
			e->dport = bpf_ntohs(ports[1]);
		}
	}
}

static __always_inline void swap_ends(struct ktui_event *e)
{
	__u8 tmp[16];
	__builtin_memcpy(tmp, e->saddr, 16);
	__builtin_memcpy(e->saddr, e->daddr, 16);
	__builtin_memcpy(e->daddr, tmp, 16);
	__u16 p = e->sport;
	e->sport = e->dport;
	e->dport = p;
}

SEC("tracepoint/skb/kfree_skb")
int tp_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	__u32 reason = 0;
	if (bpf_core_field_exists(ctx->reason)) {
		reason = ctx->reason;
		if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
			return 0;
		if (reason == bpf_core_enum_value(enum skb_drop_reason,
						  SKB_DROP_REASON_NOT_SPECIFIED)) {
			__u32 zero = 0;
			struct ktui_config *cfg = bpf_map_lookup_elem(&ktui_cfg, &zero);
			if (!cfg || !(cfg->flags & KTUI_CFG_DROP_UNSPECIFIED))
				return 0;
		}
	}
	const struct sk_buff *skb = ctx->skbaddr;
	struct ktui_event e = {};
	e.ts_ns = bpf_ktime_get_ns();
	e.kind = KTUI_KIND_DROP;
	e.drop_reason = reason;
	tuple_from_skb(&e, skb, ctx->protocol);
	/* Received packets have an input interface; local end = destination. */
	if (BPF_CORE_READ(skb, skb_iif)) {
		e.direction = KTUI_DIR_RECV;
		swap_ends(&e);
	} else {
		e.direction = KTUI_DIR_SEND;
	}
	const struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk && bpf_core_field_exists(ctx->rx_sk))
		sk = ctx->rx_sk;
	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev)
		e.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	else if (sk)
		e.netns = sk_netns(sk);
	if (sk) {
		e.sk = (__u64)sk;
		attribute_cached(&e, sk);
	}
	emit(&e);
	return 0;
}
