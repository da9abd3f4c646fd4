/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Packet drops with the kernel's reason: tracepoint skb/kfree_skb. User space aggregates them
 * per reason and netns/pod and names the reason from the kernel's BTF. */
#include "common.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Addresses and ports from the packet headers (`head` + the header offsets, read by the
 * caller: with CO-RE probe reads, or directly from a BTF pointer); local end first for
 * received packets. */
static __always_inline void tuple_from_headers(struct ktui_event *e, const unsigned char *head,
					       __u16 nh, __u16 th, __u16 ethertype)
{
	if (!head || nh == (__u16)~0U)
		return;
	__u8 l4 = 0;
	__u16 l4off = 0;
	if (ethertype == ETH_P_IP) {
		/* The IPv4 header and, when it has no options, the ports behind it: one read. */
		struct {
			struct k_iphdr ip;
			__be16 ports[2];
		} h = {};
		if (bpf_probe_read_kernel(&h, sizeof(h), head + nh))
			return;
		e->family = AF_INET;
		l4 = h.ip.protocol;
		__builtin_memcpy(e->saddr, &h.ip.saddr, 4);
		__builtin_memcpy(e->daddr, &h.ip.daddr, 4);
		l4off = nh + (h.ip.ihl_version & 0x0f) * 4;
		if ((l4 == K_IPPROTO_TCP || l4 == K_IPPROTO_UDP) && l4off == nh + sizeof(h.ip) &&
		    (th == (__u16)~0U || th == l4off)) {
			e->proto = l4;
			e->sport = bpf_ntohs(h.ports[0]);
			e->dport = bpf_ntohs(h.ports[1]);
			return;
		}
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

/* What a drop needs from its skb besides the headers. */
struct drop_skb {
	const unsigned char *head;
	const struct sock *sk;
	__u32 netns;
	__u32 iif;
	__u16 nh;
	__u16 th;
};

/* One drop: the reason first (most freed skbs are not drops: the caller returns at once),
 * then the filters on the tuple, then the flow's window (a storm of one flow folds into a
 * counter), and only then the owner lookup and the record. */
static __always_inline void handle_drop(const struct drop_skb *d, __u16 protocol, __u32 reason,
					bool unspecified)
{
	struct ktui_config *cfg = get_config();
	if (!cfg)
		return;
	if (unspecified && !(cfg->flags & KTUI_CFG_DROP_UNSPECIFIED))
		return;
	/* The protocol is known only from the headers: namespace now, the rest below. */
	if (!netns_proto_pass(cfg, 0, d->netns))
		return;
	struct ktui_event e = {};
	e.kind = KTUI_KIND_DROP;
	e.drop_reason = reason;
	tuple_from_headers(&e, d->head, d->nh, d->th, protocol);
	/* Received packets have an input interface; local end = destination. */
	if (d->iif) {
		e.direction = KTUI_DIR_RECV;
		swap_ends(&e);
	} else {
		e.direction = KTUI_DIR_SEND;
	}
	e.netns = d->netns;
	if (!tuple_pass(cfg, &e) || !unfolded(cfg, &e))
		return;
	/* The clock only for what gets a record. */
	e.ts_ns = bpf_ktime_get_ns();
	if (d->sk) {
		e.sk = (__u64)d->sk;
		attribute_cached(&e, d->sk);
	}
	emit_budgeted(cfg, &e);
}

/* Preferred: a BTF tracepoint (raw dispatch, no trace record built; skb fields read directly). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tb_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	struct drop_skb d = {};
	d.head = skb->head;
	d.nh = skb->network_header;
	d.th = skb->transport_header;
	d.iif = skb->skb_iif;
	d.sk = skb->sk;
	/* Since 6.11 the tracepoint also passes the receiving socket (4th argument); a relocated
	 * constant, so older kernels never verify the load. */
	if (!d.sk && bpf_core_field_exists(((struct trace_event_raw_kfree_skb *)0)->rx_sk))
		d.sk = (const struct sock *)ctx[3];
	const struct net_device *dev = skb->dev;
	if (dev)
		d.netns = dev->nd_net.net->ns.inum;
	else if (d.sk)
		d.netns = d.sk->__sk_common.skc_net.net->ns.inum;
	handle_drop(&d, bpf_ntohs(skb->protocol), reason,
		    reason == bpf_core_enum_value(enum skb_drop_reason,
						  SKB_DROP_REASON_NOT_SPECIFIED));
	return 0;
}

/* Fallback: the classic tracepoint, fields read with CO-RE probe reads. */
SEC("tracepoint/skb/kfree_skb")
int tp_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	__u32 reason = 0;
	bool unspecified = false;
	if (bpf_core_field_exists(ctx->reason)) {
		reason = ctx->reason;
		if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
			return 0;
		unspecified = reason == bpf_core_enum_value(enum skb_drop_reason,
							    SKB_DROP_REASON_NOT_SPECIFIED);
	}
	const struct sk_buff *skb = ctx->skbaddr;
	struct drop_skb d = {};
	d.head = BPF_CORE_READ(skb, head);
	d.nh = BPF_CORE_READ(skb, network_header);
	d.th = BPF_CORE_READ(skb, transport_header);
	d.iif = BPF_CORE_READ(skb, skb_iif);
	d.sk = BPF_CORE_READ(skb, sk);
	if (!d.sk && bpf_core_field_exists(ctx->rx_sk))
		d.sk = ctx->rx_sk;
	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev)
		d.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	else if (d.sk)
		d.netns = sk_netns(d.sk);
	handle_drop(&d, ctx->protocol, reason, unspecified);
	return 0;
}
