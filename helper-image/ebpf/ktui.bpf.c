/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The one object ktui-helper loads (ktui.bpf.o): every program, one file per probe, built
 * together so they share maps. Build: ./build.sh (reproducible), check: ./check-object.sh.
 */
#include "tcp_state.bpf.c"
#include "tcp_retransmit.bpf.c"
#include "tcp_reset.bpf.c"
#include "connect.bpf.c"
#include "udp.bpf.c"
#include "dns.bpf.c"
#include "drop.bpf.c"
