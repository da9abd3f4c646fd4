//! A program in `tcpdump -d` style.

use super::*;

/// The program in `tcpdump -d` style, one instruction a line (for logs and test failures).
pub fn dump(prog: &[BpfInsn]) -> String {
    let mut out = String::new();
    for (pc, i) in prog.iter().enumerate() {
        let (code, k) = (i.code, i.k);
        let sz = match size(code) {
            H => "h",
            B => "b",
            _ => "",
        };
        let jt = pc + 1 + usize::from(i.jt);
        let jf = pc + 1 + usize::from(i.jf);
        let x_or_k = if src(code) == X {
            "x".to_string()
        } else {
            format!("#{k:#x}")
        };
        let text = match class(code) {
            LD => match mode(code) {
                ABS => format!("ld{sz} [{k}]"),
                IND => format!("ld{sz} [x + {k}]"),
                IMM => format!("ld #{k:#x}"),
                LEN => "ld #pktlen".to_string(),
                MEM => format!("ld M[{k}]"),
                _ => format!("unknown {code:#06x}"),
            },
            LDX => match mode(code) {
                MSH => format!("ldxb 4*([{k}]&0xf)"),
                IMM => format!("ldx #{k:#x}"),
                LEN => "ldx #pktlen".to_string(),
                MEM => format!("ldx M[{k}]"),
                _ => format!("unknown {code:#06x}"),
            },
            ST => format!("st M[{k}]"),
            STX => format!("stx M[{k}]"),
            ALU => {
                let name = match op(code) {
                    ADD => "add",
                    SUB => "sub",
                    MUL => "mul",
                    DIV => "div",
                    MOD => "mod",
                    OR => "or",
                    AND => "and",
                    XOR => "xor",
                    LSH => "lsh",
                    RSH => "rsh",
                    NEG => "neg",
                    _ => "unknown",
                };
                format!("{name} {x_or_k}")
            }
            JMP => match op(code) {
                JA => format!("ja {}", (pc + 1).saturating_add(k as usize)),
                o => {
                    let name = match o {
                        JEQ => "jeq",
                        JGT => "jgt",
                        JGE => "jge",
                        JSET => "jset",
                        _ => "unknown",
                    };
                    format!("{name} {x_or_k} jt {jt} jf {jf}")
                }
            },
            RET if code == RET | A => "ret a".to_string(),
            RET => format!("ret #{k}"),
            _ if code == MISC | TAX => "tax".to_string(),
            _ => "txa".to_string(),
        };
        out.push_str(&format!("({pc:03}) {text}\n"));
    }
    out
}
