//! The socket filter. One interface: the filter compiled for its link type. Every interface
//! of a namespace (frames of several link types on one socket): a dispatch on the frame's
//! hardware type (the SKF_AD_HATYPE ancillary load) to the filter compiled for Ethernet or
//! for raw IP; frames of other hardware types cannot be matched against the expression and
//! are not captured when there is one. Without an expression: accept `snaplen` bytes.

use ktui_packet::filter::BpfInsn;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JA: u16 = 0x05;
const BPF_RET_K: u16 = 0x06;
/// SKF_AD_OFF + SKF_AD_HATYPE.
const AD_HATYPE: u32 = 0xffff_f000 + 28;

const ETHERNET_HATYPES: [u32; 2] = [1, 772];
const RAW_HATYPES: [u32; 4] = [0xfffe, 768, 769, 776];

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

/// Accept every frame, cut to `snaplen`.
pub fn accept_all(snaplen: u32) -> Vec<BpfInsn> {
    vec![insn(BPF_RET_K, 0, 0, snaplen)]
}

/// Dispatch by hardware type to `ethernet` or `raw` (each a complete program ending in
/// returns, as compiled); a kind whose program is None is not captured.
pub fn by_hatype(ethernet: Option<&[BpfInsn]>, raw: Option<&[BpfInsn]>) -> Vec<BpfInsn> {
    let checks = ETHERNET_HATYPES.len() + RAW_HATYPES.len();
    // 0: load; 1..=checks: compare; then `ret #0`, two trampolines (Ethernet, raw).
    let reject = 1 + checks;
    let (to_eth, to_raw) = (reject + 1, reject + 2);
    let mut p = vec![insn(BPF_LD_W_ABS, 0, 0, AD_HATYPE)];
    let types = ETHERNET_HATYPES
        .iter()
        .map(|t| (*t, ethernet.is_some(), to_eth))
        .chain(RAW_HATYPES.iter().map(|t| (*t, raw.is_some(), to_raw)));
    for (t, wanted, target) in types {
        let at = p.len();
        let jt = if wanted {
            target - at - 1
        } else {
            reject - at - 1
        };
        p.push(insn(BPF_JEQ_K, jt as u8, 0, t));
    }
    p.push(insn(BPF_RET_K, 0, 0, 0));
    let eth = ethernet.unwrap_or(&[]);
    let eth_start = to_raw + 1;
    let raw_start = eth_start + eth.len();
    p.push(insn(BPF_JA, 0, 0, (eth_start - to_eth - 1) as u32));
    p.push(insn(BPF_JA, 0, 0, (raw_start - to_raw - 1) as u32));
    p.extend_from_slice(eth);
    p.extend_from_slice(raw.unwrap_or(&[]));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny classic-BPF interpreter for what `by_hatype` emits (and `ret`).
    fn run(p: &[BpfInsn], hatype: u32) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = p[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => a = if i.k == AD_HATYPE { hatype } else { 0 },
                BPF_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_JA => pc += i.k as usize,
                BPF_RET_K => return i.k,
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn frames_go_to_the_program_of_their_link_type() {
        let eth = [insn(BPF_RET_K, 0, 0, 111)];
        // A long raw program: the trampolines carry jumps beyond 255 instructions.
        let mut raw = vec![insn(BPF_JA, 0, 0, 0); 300];
        raw.push(insn(BPF_RET_K, 0, 0, 222));
        let p = by_hatype(Some(&eth), Some(&raw));
        assert_eq!(run(&p, 1), 111);
        assert_eq!(run(&p, 772), 111);
        assert_eq!(run(&p, 0xfffe), 222);
        assert_eq!(run(&p, 776), 222);
        assert_eq!(run(&p, 512), 0, "PPP: not captured with a filter");
        let only_eth = by_hatype(Some(&eth), None);
        assert_eq!(run(&only_eth, 1), 111);
        assert_eq!(run(&only_eth, 0xfffe), 0);
        assert_eq!(run(&accept_all(96), 512), 96);
    }
}
