//! Classic BPF (`struct sock_filter`): the opcodes the compiler emits, a user-space interpreter
//! ([`run`]) and the kernel's attach-time checks ([`check`]).
//!
//! [`run`] follows the kernel and libpcap's `bpf_filter`: a load outside the captured bytes ends
//! the program with 0 (the frame is dropped), as does division by zero, an unknown opcode, a
//! jump past the end or falling off the end. Every jump goes forward, so a program of n
//! instructions executes at most n of them: `run` needs no step budget and never panics.

use super::BpfInsn;

mod check;
mod dump;

use check::allowed;
pub use check::{InvalidProgram, check};
pub use dump::dump;

/// The kernel's limit on a classic BPF program (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;
/// Scratch memory cells (`BPF_MEMWORDS`).
const MEMWORDS: u32 = 16;

// Instruction classes.
pub(super) const LD: u16 = 0x00;
pub(super) const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
pub(super) const ALU: u16 = 0x04;
pub(super) const JMP: u16 = 0x05;
pub(super) const RET: u16 = 0x06;
const MISC: u16 = 0x07;
// Load sizes.
pub(super) const W: u16 = 0x00;
pub(super) const H: u16 = 0x08;
pub(super) const B: u16 = 0x10;
// Load modes.
const IMM: u16 = 0x00;
pub(super) const ABS: u16 = 0x20;
pub(super) const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
pub(super) const MSH: u16 = 0xa0;
// ALU operations.
const ADD: u16 = 0x00;
const SUB: u16 = 0x10;
const MUL: u16 = 0x20;
const DIV: u16 = 0x30;
const OR: u16 = 0x40;
pub(super) const AND: u16 = 0x50;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const MOD: u16 = 0x90;
const XOR: u16 = 0xa0;
// Jumps.
pub(super) const JA: u16 = 0x00;
pub(super) const JEQ: u16 = 0x10;
pub(super) const JGT: u16 = 0x20;
pub(super) const JGE: u16 = 0x30;
pub(super) const JSET: u16 = 0x40;
// Operand source.
pub(super) const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;
// MISC.
const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

fn class(code: u16) -> u16 {
    code & 0x07
}
fn size(code: u16) -> u16 {
    code & 0x18
}
fn mode(code: u16) -> u16 {
    code & 0xe0
}
fn op(code: u16) -> u16 {
    code & 0xf0
}
fn src(code: u16) -> u16 {
    code & 0x08
}

/// Read `width` bytes big-endian at `off`, or None when they are not all captured.
fn load(frame: &[u8], off: u64, width: usize) -> Option<u32> {
    let start = usize::try_from(off).ok()?;
    let bytes = frame.get(start..start.checked_add(width)?)?;
    Some(bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
}

fn width(code: u16) -> Option<usize> {
    match size(code) {
        W => Some(4),
        H => Some(2),
        B => Some(1),
        _ => None,
    }
}

/// Run `prog` on a captured `frame` whose original length was `wire_len`; the result is what
/// the program returns: the number of bytes to keep, 0 to drop the frame. Loads outside
/// `frame`, ancillary loads (negative offsets, kernel-only), bad opcodes and bad jumps give 0.
pub fn run(prog: &[BpfInsn], frame: &[u8], wire_len: u32) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEMWORDS as usize];
    let mut pc = 0usize;
    loop {
        let Some(&ins) = prog.get(pc) else { return 0 };
        pc += 1;
        if !allowed(ins.code) {
            return 0;
        }
        let k = ins.k;
        match class(ins.code) {
            LD => {
                a = match (mode(ins.code), width(ins.code)) {
                    (ABS, Some(w)) => match load(frame, u64::from(k), w) {
                        Some(v) => v,
                        None => return 0,
                    },
                    (IND, Some(w)) => match load(frame, u64::from(x) + u64::from(k), w) {
                        Some(v) => v,
                        None => return 0,
                    },
                    (IMM, Some(4)) => k,
                    (LEN, Some(4)) => wire_len,
                    (MEM, Some(4)) if k < MEMWORDS => mem[k as usize],
                    _ => return 0,
                }
            }
            LDX => {
                x = match (mode(ins.code), size(ins.code)) {
                    (IMM, W) => k,
                    (LEN, W) => wire_len,
                    (MEM, W) if k < MEMWORDS => mem[k as usize],
                    (MSH, B) => match load(frame, u64::from(k), 1) {
                        Some(v) => (v & 0xf) * 4,
                        None => return 0,
                    },
                    _ => return 0,
                }
            }
            ST if ins.code == ST && k < MEMWORDS => mem[k as usize] = a,
            STX if ins.code == STX && k < MEMWORDS => mem[k as usize] = x,
            ALU => {
                let v = if src(ins.code) == X { x } else { k };
                a = match op(ins.code) {
                    ADD => a.wrapping_add(v),
                    SUB => a.wrapping_sub(v),
                    MUL => a.wrapping_mul(v),
                    DIV => match a.checked_div(v) {
                        Some(q) => q,
                        None => return 0,
                    },
                    MOD => match a.checked_rem(v) {
                        Some(r) => r,
                        None => return 0,
                    },
                    OR => a | v,
                    AND => a & v,
                    XOR => a ^ v,
                    LSH => a.checked_shl(v).unwrap_or(0),
                    RSH => a.checked_shr(v).unwrap_or(0),
                    NEG if ins.code == ALU | NEG => a.wrapping_neg(),
                    _ => return 0,
                }
            }
            JMP => {
                let v = if src(ins.code) == X { x } else { k };
                let skip = match op(ins.code) {
                    JA if ins.code == JMP | JA => match usize::try_from(k) {
                        Ok(n) => n,
                        Err(_) => return 0,
                    },
                    JEQ => usize::from(if a == v { ins.jt } else { ins.jf }),
                    JGT => usize::from(if a > v { ins.jt } else { ins.jf }),
                    JGE => usize::from(if a >= v { ins.jt } else { ins.jf }),
                    JSET => usize::from(if a & v != 0 { ins.jt } else { ins.jf }),
                    _ => return 0,
                };
                pc = match pc.checked_add(skip) {
                    Some(p) => p,
                    None => return 0,
                };
            }
            RET => {
                return match ins.code {
                    c if c == RET | K => k,
                    c if c == RET | A => a,
                    _ => 0,
                };
            }
            MISC => match ins.code {
                c if c == MISC | TAX => x = a,
                c if c == MISC | TXA => a = x,
                _ => return 0,
            },
            _ => return 0,
        }
    }
}

/// Build an instruction.
pub(super) const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

/// `ret #k`.
pub(super) const fn ret(k: u32) -> BpfInsn {
    insn(RET | K, 0, 0, k)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ld_abs(size: u16, k: u32) -> BpfInsn {
        insn(LD | size | ABS, 0, 0, k)
    }

    #[test]
    fn loads_are_big_endian_and_bounded() {
        let frame = [0x12, 0x34, 0x56, 0x78, 0x9a];
        for (size, off, want) in [(W, 0, 0x1234_5678), (H, 3, 0x789a), (B, 4, 0x9a)] {
            let prog = [ld_abs(size, off), insn(RET | A, 0, 0, 0)];
            assert_eq!(run(&prog, &frame, 5), want);
        }
        // One byte short: the program ends with 0.
        let prog = [ld_abs(W, 2), ret(7)];
        assert_eq!(run(&prog, &frame, 5), 0);
        let prog = [ld_abs(W, u32::MAX), ret(7)];
        assert_eq!(run(&prog, &frame, 5), 0);
    }

    #[test]
    fn msh_indirect_len_alu_and_memory() {
        // An IPv4 header with IHL 6 (24 bytes): x = 24, then [x + 2].
        let mut frame = vec![0u8; 30];
        frame[0] = 0x46;
        frame[26] = 0xab;
        frame[27] = 0xcd;
        let prog = [
            insn(LDX | B | MSH, 0, 0, 0),
            insn(LD | H | IND, 0, 0, 2),
            insn(ST, 0, 0, 3),
            insn(LD | W | LEN, 0, 0, 0),
            insn(ALU | ADD | X, 0, 0, 0),
            insn(MISC | TAX, 0, 0, 0),
            insn(LD | W | MEM, 0, 0, 3),
            insn(ALU | SUB | X, 0, 0, 0),
            insn(RET | A, 0, 0, 0),
        ];
        // 0xabcd - (1000 + 24), wrapping like the kernel.
        assert_eq!(run(&prog, &frame, 1000), 0xabcdu32.wrapping_sub(1024));
        assert_eq!(check(&prog), Ok(()));
    }

    #[test]
    fn jumps_and_faults() {
        let prog = [
            insn(LD | IMM, 0, 0, 5),
            insn(JMP | JGT | K, 1, 0, 4),
            ret(1),
            insn(JMP | JSET | K, 0, 1, 4),
            ret(2),
            ret(3),
        ];
        assert_eq!(run(&prog, &[], 0), 2);
        assert_eq!(check(&prog), Ok(()));
        // Division by a zero X gives 0; by a zero constant does not attach.
        let div = [insn(ALU | DIV | X, 0, 0, 0), ret(9)];
        assert_eq!(run(&div, &[], 0), 0);
        assert!(check(&[insn(ALU | DIV | K, 0, 0, 0), ret(9)]).is_err());
        // Jumps past the end, a missing return, falling off the end.
        let far = [insn(JMP | JEQ | K, 5, 0, 0), ret(1)];
        assert_eq!(run(&far, &[], 0), 0);
        assert!(check(&far).is_err());
        assert!(check(&[insn(JMP | JA, 0, 0, u32::MAX), ret(1)]).is_err());
        assert_eq!(run(&[insn(JMP | JA, 0, 0, u32::MAX), ret(1)], &[], 0), 0);
        assert!(check(&[insn(LD | IMM, 0, 0, 1)]).is_err());
        assert_eq!(run(&[insn(LD | IMM, 0, 0, 1)], &[], 0), 0);
        assert!(check(&[]).is_err());
    }

    #[test]
    fn scratch_memory_must_be_written_on_every_path() {
        let one_path = [
            insn(JMP | JEQ | K, 0, 1, 0),
            insn(ST, 0, 0, 1),
            insn(LD | MEM, 0, 0, 1),
            insn(RET | A, 0, 0, 0),
        ];
        assert!(check(&one_path).is_err());
        let both = [
            insn(ST, 0, 0, 1),
            insn(JMP | JEQ | K, 0, 0, 0),
            insn(LD | MEM, 0, 0, 1),
            insn(RET | A, 0, 0, 0),
        ];
        assert_eq!(check(&both), Ok(()));
    }

    #[test]
    fn random_programs_never_panic() {
        // The interpreter and the checker take any instruction words.
        let mut next = crate::summary::testframe::xorshift(0x9e37_79b9_7f4a_7c15);
        let frame: Vec<u8> = (0..64).map(|i| i as u8).collect();
        for _ in 0..20_000 {
            let n = (next() % 12) as usize + 1;
            let prog: Vec<BpfInsn> = (0..n)
                .map(|_| {
                    let r = next();
                    insn(
                        r as u16,
                        (r >> 16) as u8 % 8,
                        (r >> 24) as u8 % 8,
                        (r >> 32) as u32 % 80,
                    )
                })
                .collect();
            let _ = run(&prog, &frame, 64);
            let _ = check(&prog);
        }
    }
}
