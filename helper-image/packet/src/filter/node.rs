//! The tests tree a filter lowers to: comparisons of frame bytes combined with all / any /
//! not, folded as they are built (`all` with a false member is false, and so on).

/// Width of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Size {
    B,
    H,
    W,
}

/// Where a test reads its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Load {
    /// `off` bytes into the frame.
    Abs { size: Size, off: u32 },
    /// `off` bytes into the frame plus the IPv4 header length, whose IHL nibble is at
    /// `ihl_at` (`ldxb 4*([ihl_at]&0xf)` then `ld [x + off]`).
    AfterIpv4 { size: Size, ihl_at: u32, off: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Gt,
    Ge,
    /// Any of `k`'s bits set.
    Set,
}

/// `(load & mask) cmp k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Test {
    pub load: Load,
    pub mask: Option<u32>,
    pub cmp: Cmp,
    pub k: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Const(bool),
    Test(Test),
    /// Every one, left to right.
    All(Vec<Node>),
    /// Any one, left to right.
    Any(Vec<Node>),
    Not(Box<Node>),
}

pub(super) fn all(items: Vec<Node>) -> Node {
    let mut out = Vec::with_capacity(items.len());
    for n in items {
        match n {
            Node::Const(true) => {}
            Node::Const(false) => return Node::Const(false),
            Node::All(inner) => out.extend(inner),
            n => out.push(n),
        }
    }
    match out.len() {
        0 => Node::Const(true),
        1 => out.pop().unwrap_or(Node::Const(true)),
        _ => Node::All(out),
    }
}

pub(super) fn any(items: Vec<Node>) -> Node {
    let mut out = Vec::with_capacity(items.len());
    for n in items {
        match n {
            Node::Const(false) => {}
            Node::Const(true) => return Node::Const(true),
            Node::Any(inner) => out.extend(inner),
            n => out.push(n),
        }
    }
    match out.len() {
        0 => Node::Const(false),
        1 => out.pop().unwrap_or(Node::Const(false)),
        _ => Node::Any(out),
    }
}

pub(super) fn not(n: Node) -> Node {
    match n {
        Node::Const(b) => Node::Const(!b),
        Node::Not(inner) => *inner,
        n => Node::Not(Box::new(n)),
    }
}
