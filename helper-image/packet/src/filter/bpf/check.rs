//! The kernel's attach-time checks of a classic BPF program (`bpf_check_classic`).

use super::*;

/// The opcodes the kernel accepts (its `codes[]` table in net/core/filter.c).
pub(super) fn allowed(code: u16) -> bool {
    match class(code) {
        LD => matches!(
            code & !LD,
            c if c == W | ABS || c == H | ABS || c == B | ABS || c == W | IND || c == H | IND
                || c == B | IND || c == W | LEN || c == IMM || c == MEM
        ),
        LDX => matches!(code & !LDX, c if c == W | LEN || c == B | MSH || c == IMM || c == MEM),
        ST | STX => code == ST || code == STX,
        ALU => {
            let o = op(code);
            if o == NEG {
                code == ALU | NEG
            } else {
                code & !(0xf0 | X) == ALU
                    && matches!(o, ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | LSH | RSH)
            }
        }
        JMP => {
            if op(code) == JA {
                code == JMP | JA
            } else {
                code & !(0xf0 | X) == JMP && matches!(op(code), JEQ | JGT | JGE | JSET)
            }
        }
        RET => code == RET | K || code == RET | A,
        _ => code == MISC | TAX || code == MISC | TXA,
    }
}

/// Why a program would not attach (the kernel's `bpf_check_classic`, plus: no ancillary loads,
/// which [`run`] cannot evaluate).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid classic BPF at instruction {at}: {why}")]
pub struct InvalidProgram {
    pub at: usize,
    pub why: &'static str,
}

/// Check `prog` as the kernel does on SO_ATTACH_FILTER: 1..=4096 instructions, known opcodes,
/// scratch cells below 16 and written before read on every path, no division by a zero
/// constant, no shift by 32 or more, every jump inside the program, a return at the end.
pub fn check(prog: &[BpfInsn]) -> Result<(), InvalidProgram> {
    let bad = |at, why| Err(InvalidProgram { at, why });
    if prog.is_empty() {
        return bad(0, "the program is empty");
    }
    if prog.len() > MAX_INSNS {
        return bad(MAX_INSNS, "the program has more than 4096 instructions");
    }
    let n = prog.len();
    // Scratch cells certainly written before each instruction (intersection over the paths in).
    let mut written: Vec<Option<u16>> = vec![None; n];
    written[0] = Some(0);
    for (pc, ins) in prog.iter().enumerate() {
        // An instruction no path reaches constrains nothing.
        let here = written[pc].unwrap_or(u16::MAX);
        let mut after = here;
        let code = ins.code;
        let k = ins.k;
        let mem_ok = |k: u32| k < MEMWORDS && here & (1 << k) != 0;
        let mut targets: [Option<usize>; 2] = [Some(pc + 1), None];
        if !allowed(code) {
            return bad(pc, "unknown opcode");
        }
        // The opcode is one of the kernel's: what is left to check is the operands.
        match class(code) {
            LD | LDX => {
                let ld = class(code) == LD;
                match (mode(code), size(code)) {
                    (ABS | IND, W | H | B) if ld => {
                        if k >= 0x8000_0000 {
                            return bad(pc, "ancillary (negative-offset) loads are not supported");
                        }
                    }
                    (IMM | LEN, W) => {}
                    (MSH, B) if !ld => {
                        if k >= 0x8000_0000 {
                            return bad(pc, "ancillary (negative-offset) loads are not supported");
                        }
                    }
                    (MEM, W) => {
                        if k >= MEMWORDS {
                            return bad(pc, "scratch memory index is 16 or more");
                        }
                        if !mem_ok(k) {
                            return bad(pc, "scratch memory is read before it is written");
                        }
                    }
                    _ => return bad(pc, "unknown load"),
                }
            }
            ST | STX => {
                if k >= MEMWORDS {
                    return bad(pc, "scratch memory index is 16 or more");
                }
                after |= 1 << k;
            }
            ALU => match op(code) {
                ADD | SUB | MUL | OR | AND | XOR => {}
                DIV | MOD => {
                    if src(code) == K && k == 0 {
                        return bad(pc, "division by the constant 0");
                    }
                }
                LSH | RSH => {
                    if src(code) == K && k >= 32 {
                        return bad(pc, "shift by 32 or more");
                    }
                }
                NEG if code == ALU | NEG => {}
                _ => return bad(pc, "unknown ALU operation"),
            },
            JMP => match op(code) {
                JA if code == JMP | JA => {
                    let t = usize::try_from(k)
                        .ok()
                        .and_then(|k| (pc + 1).checked_add(k));
                    match t {
                        Some(t) if t < n => targets = [Some(t), None],
                        _ => return bad(pc, "jump past the end"),
                    }
                }
                JEQ | JGT | JGE | JSET => {
                    let (t, f) = (pc + 1 + usize::from(ins.jt), pc + 1 + usize::from(ins.jf));
                    if t >= n || f >= n {
                        return bad(pc, "jump past the end");
                    }
                    targets = [Some(t), Some(f)];
                }
                _ => return bad(pc, "unknown jump"),
            },
            RET => targets = [None, None],
            // TAX, TXA.
            _ => {}
        }
        for t in targets.into_iter().flatten() {
            if t < n && written[pc].is_some() {
                written[t] = Some(written[t].map_or(after, |w| w & after));
            }
        }
    }
    if class(prog[n - 1].code) != RET {
        return bad(n - 1, "the last instruction is not a return");
    }
    Ok(())
}
