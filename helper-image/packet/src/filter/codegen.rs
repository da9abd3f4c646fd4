//! Tests tree → classic BPF. Short-circuit code with symbolic labels (every jump goes
//! forward), loads skipped when the accumulator already holds the value on every path in, then
//! a layout pass: a conditional jump reaches at most 255 instructions, so a farther target gets
//! a trampoline right after the jump (`ja` with its 32-bit offset, or the `ret` itself when the
//! target is a return), repeated until every offset fits.

use super::BpfInsn;
use super::bpf::{
    self, ABS, ALU, AND, IND, JA, JEQ, JGE, JGT, JMP, JSET, K, LD, LDX, MSH, insn, ret,
};
use super::node::{Cmp, Load, Node, Size, Test};

type Label = usize;

#[derive(Debug, Clone, Copy)]
enum Item {
    Op(BpfInsn),
    Cond {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Jump(Label),
}

/// What the registers hold at a point, when known: A a (masked) load, X the IPv4 header length
/// read at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Regs {
    a: Option<(Load, Option<u32>)>,
    x: Option<u32>,
}

impl Regs {
    fn merge(self, other: Regs) -> Regs {
        Regs {
            a: if self.a == other.a { self.a } else { None },
            x: if self.x == other.x { self.x } else { None },
        }
    }
}

struct Gen {
    items: Vec<Item>,
    /// Per label: the item it stands before, and the merged register state of the jumps to it.
    labels: Vec<(usize, Option<Regs>)>,
    /// The registers here; None after a jump or return (nothing falls through).
    cur: Option<Regs>,
}

impl Gen {
    fn label(&mut self) -> Label {
        self.labels.push((usize::MAX, None));
        self.labels.len() - 1
    }

    fn place(&mut self, l: Label) {
        let incoming = self.labels[l].1;
        self.cur = match (self.cur, incoming) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        self.labels[l].0 = self.items.len();
    }

    fn arrive(&mut self, l: Label) {
        let here = self.cur.unwrap_or_default();
        let slot = &mut self.labels[l].1;
        *slot = Some(slot.map_or(here, |s| s.merge(here)));
    }

    fn op(&mut self, i: BpfInsn) {
        self.items.push(Item::Op(i));
    }

    fn jump(&mut self, l: Label) {
        self.arrive(l);
        self.items.push(Item::Jump(l));
        self.cur = None;
    }

    fn load(&mut self, t: &Test) {
        let mut regs = self.cur.unwrap_or_default();
        let want = Some((t.load, t.mask));
        if regs.a != want && regs.a != Some((t.load, None)) {
            let size = |s: Size| match s {
                Size::B => bpf::B,
                Size::H => bpf::H,
                Size::W => bpf::W,
            };
            match t.load {
                Load::Abs { size: s, off } => self.op(insn(LD | size(s) | ABS, 0, 0, off)),
                Load::AfterIpv4 {
                    size: s,
                    ihl_at,
                    off,
                } => {
                    if regs.x != Some(ihl_at) {
                        self.op(insn(LDX | bpf::B | MSH, 0, 0, ihl_at));
                        regs.x = Some(ihl_at);
                    }
                    self.op(insn(LD | size(s) | IND, 0, 0, off));
                }
            }
            regs.a = Some((t.load, None));
        }
        if let Some(m) = t.mask
            && regs.a != want
        {
            self.op(insn(ALU | AND | K, 0, 0, m));
        }
        regs.a = want;
        self.cur = Some(regs);
    }

    fn gen_node(&mut self, n: &Node, t: Label, f: Label) {
        match n {
            Node::Const(true) => self.jump(t),
            Node::Const(false) => self.jump(f),
            Node::Test(test) => {
                self.load(test);
                let op = match test.cmp {
                    Cmp::Eq => JEQ,
                    Cmp::Gt => JGT,
                    Cmp::Ge => JGE,
                    Cmp::Set => JSET,
                };
                self.arrive(t);
                self.arrive(f);
                self.items.push(Item::Cond {
                    code: JMP | op | K,
                    k: test.k,
                    jt: t,
                    jf: f,
                });
                self.cur = None;
            }
            Node::All(v) => self.gen_all(v, t, f),
            Node::Any(v) => self.gen_any(v, t, f),
            Node::Not(inner) => self.gen_node(inner, f, t),
        }
    }
}

impl Gen {
    fn gen_all(&mut self, v: &[Node], t: Label, f: Label) {
        let Some((last, init)) = v.split_last() else {
            return self.jump(t);
        };
        for c in init {
            let next = self.label();
            self.gen_node(c, next, f);
            self.place(next);
        }
        self.gen_node(last, t, f);
    }

    /// Alternatives in order. One that starts with a guard (`EtherType == IPv4`) and fails
    /// after passing it skips the alternatives whose guard then cannot pass (`EtherType ==
    /// IPv6`): how `port` tries IPv4, then IPv6, without testing the EtherType twice.
    fn gen_any(&mut self, v: &[Node], t: Label, f: Label) {
        let starts: Vec<Label> = (1..v.len()).map(|_| self.label()).collect();
        let start_of = |j: usize| if j < v.len() { starts[j - 1] } else { f };
        for (i, c) in v.iter().enumerate() {
            if i > 0 {
                self.place(starts[i - 1]);
            }
            let next = start_of(i + 1);
            match (c, guard(c)) {
                (Node::All(parts), Some(g)) if parts.len() > 1 => {
                    let skip = (i + 1..v.len())
                        .find(|&j| guard(&v[j]).is_none_or(|h| !excludes(&g, &h)))
                        .map_or(f, start_of);
                    let rest = self.label();
                    self.gen_node(&parts[0], rest, next);
                    self.place(rest);
                    self.gen_all(&parts[1..], t, skip);
                }
                _ => self.gen_node(c, t, next),
            }
        }
    }
}

/// A node's first test when it is equality of one value with one of a few constants.
struct Guard {
    load: (Load, Option<u32>),
    values: Vec<u32>,
}

fn guard(n: &Node) -> Option<Guard> {
    let eq = |n: &Node| match n {
        Node::Test(t) if t.cmp == Cmp::Eq => Some(((t.load, t.mask), t.k)),
        _ => None,
    };
    match n {
        Node::Test(_) => eq(n).map(|(load, k)| Guard {
            load,
            values: vec![k],
        }),
        Node::All(parts) => parts.first().and_then(guard),
        Node::Any(alts) => {
            let tests: Option<Vec<_>> = alts.iter().map(eq).collect();
            let tests = tests?;
            let load = tests.first()?.0;
            tests.iter().all(|(l, _)| *l == load).then(|| Guard {
                load,
                values: tests.iter().map(|(_, k)| *k).collect(),
            })
        }
        _ => None,
    }
}

/// Once `g` passed, `h` cannot: same value, no constant in common.
fn excludes(g: &Guard, h: &Guard) -> bool {
    g.load == h.load && g.values.iter().all(|k| !h.values.contains(k))
}

/// Compile `node` to a program returning `accept` for a match and 0 otherwise; Err(length)
/// when it would exceed the kernel's 4096 instructions.
pub(super) fn generate(node: &Node, accept: u32) -> Result<Vec<BpfInsn>, usize> {
    match node {
        Node::Const(true) => return Ok(vec![ret(accept)]),
        Node::Const(false) => return Ok(vec![ret(0)]),
        _ => {}
    }
    let mut g = Gen {
        items: Vec::new(),
        labels: Vec::new(),
        cur: Some(Regs::default()),
    };
    let (yes, no) = (g.label(), g.label());
    g.gen_node(node, yes, no);
    g.place(yes);
    g.op(ret(accept));
    g.cur = None;
    g.place(no);
    g.op(ret(0));
    layout(&g.items, &g.labels.iter().map(|l| l.0).collect::<Vec<_>>())
}

fn layout(items: &[Item], label_item: &[usize]) -> Result<Vec<BpfInsn>, usize> {
    let ret_at = |l: Label| match items.get(label_item[l]) {
        Some(Item::Op(i)) if i.code == bpf::RET | K => Some(*i),
        _ => None,
    };
    let elided = |idx: usize, l: Label| label_item[l] == idx + 1;
    // Per conditional jump: does its true / false target go through a trampoline?
    let mut tramp = vec![(false, false); items.len()];
    let mut pos = vec![0usize; items.len() + 1];
    loop {
        for (i, item) in items.iter().enumerate() {
            let size = match *item {
                Item::Op(_) => 1,
                Item::Jump(l) => usize::from(!elided(i, l)),
                Item::Cond { .. } => 1 + usize::from(tramp[i].0) + usize::from(tramp[i].1),
            };
            pos[i + 1] = pos[i] + size;
        }
        let mut changed = false;
        for (i, item) in items.iter().enumerate() {
            if let Item::Cond { jt, jf, .. } = *item {
                let from = pos[i] + 1;
                let (tt, tf) = &mut tramp[i];
                for (l, flag) in [(jt, tt), (jf, tf)] {
                    if !*flag && pos[label_item[l]].saturating_sub(from) > 255 {
                        *flag = true;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    let total = pos[items.len()];
    if total > bpf::MAX_INSNS {
        return Err(total);
    }
    let target = |l: Label| pos[label_item[l]];
    let far = |l: Label, at: usize| {
        ret_at(l).unwrap_or_else(|| insn(JMP | JA, 0, 0, target(l).saturating_sub(at + 1) as u32))
    };
    let mut out = Vec::with_capacity(total);
    for (i, item) in items.iter().enumerate() {
        match *item {
            Item::Op(op) => out.push(op),
            Item::Jump(l) if elided(i, l) => {}
            Item::Jump(l) => out.push(far(l, pos[i])),
            Item::Cond { code, k, jt, jf } => {
                let (tt, tf) = tramp[i];
                let from = pos[i] + 1;
                let near = |l: Label| target(l).saturating_sub(from) as u8;
                let jt_off = if tt { 0 } else { near(jt) };
                let jf_off = if tf { u8::from(tt) } else { near(jf) };
                out.push(insn(code, jt_off, jf_off, k));
                if tt {
                    out.push(far(jt, from));
                }
                if tf {
                    out.push(far(jf, from + usize::from(tt)));
                }
            }
        }
    }
    Ok(out)
}
