//! Open files: fdinfo.proto `file_entry` (files.img) and the per-type messages it embeds —
//! also found alone in the older reg-files.img, inetsk.img, unixsk.img and pipes.img.

use super::msgs::{MsgResult, each, need};

/// fdinfo.proto `fd_types`.
pub mod fd_type {
    pub const REG: u32 = 1;
    pub const PIPE: u32 = 2;
    pub const FIFO: u32 = 3;
    pub const INETSK: u32 = 4;
    pub const UNIXSK: u32 = 5;
    pub const EVENTFD: u32 = 6;
    pub const EVENTPOLL: u32 = 7;
    pub const INOTIFY: u32 = 8;
    pub const SIGNALFD: u32 = 9;
    pub const PACKETSK: u32 = 10;
    pub const TTY: u32 = 11;
    pub const FANOTIFY: u32 = 12;
    pub const NETLINKSK: u32 = 13;
    pub const NS: u32 = 14;
    pub const TUNF: u32 = 15;
    pub const EXT: u32 = 16;
    pub const TIMERFD: u32 = 17;
    pub const MEMFD: u32 = 18;
    pub const BPFMAP: u32 = 19;
    pub const PIDFD: u32 = 20;
}

/// What a file id refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDesc {
    Reg {
        name: String,
    },
    Pipe {
        pipe_id: u32,
    },
    Inet(InetSk),
    Unix(UnixSk),
    /// A type ktui does not detail (eventfd, epoll, tty, ...).
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub id: u32,
    pub ty: u32,
    pub desc: FileDesc,
}

/// sk-inet.proto `inet_sk_entry`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InetSk {
    pub id: u32,
    pub ino: u32,
    pub family: u32,
    pub sock_type: u32,
    pub proto: u32,
    pub state: u32,
    pub src_port: u32,
    pub dst_port: u32,
    pub src_addr: Vec<u32>,
    pub dst_addr: Vec<u32>,
}

/// sk-unix.proto `unix_sk_entry`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixSk {
    pub id: u32,
    pub ino: u32,
    pub sock_type: u32,
    pub state: u32,
    pub peer: u32,
    pub name: Vec<u8>,
}

/// fdinfo.proto `file_entry` (files.img).
pub fn file_entry(buf: &[u8]) -> MsgResult<FileEntry> {
    let (mut ty, mut id, mut desc) = (0, None, FileDesc::Other);
    each(buf, |f| {
        match f.number {
            1 => ty = f.u32()?,
            2 => id = Some(f.u32()?),
            3 => desc = reg_file_entry(f.bytes()?)?.desc,
            4 => desc = FileDesc::Inet(inet_sk_entry(f.bytes()?)?),
            16 => desc = FileDesc::Unix(unix_sk_entry(f.bytes()?)?),
            18 => desc = pipe_entry(f.bytes()?)?.desc,
            _ => {}
        }
        Ok(())
    })?;
    Ok(FileEntry {
        id: need(id, "id")?,
        ty,
        desc,
    })
}

/// regfile.proto `reg_file_entry`.
pub fn reg_file_entry(buf: &[u8]) -> MsgResult<FileEntry> {
    let (mut id, mut name) = (None, None);
    each(buf, |f| {
        match f.number {
            1 => id = Some(f.u32()?),
            6 => name = Some(f.string()?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(FileEntry {
        id: need(id, "id")?,
        ty: fd_type::REG,
        desc: FileDesc::Reg {
            name: need(name, "name")?,
        },
    })
}

/// pipe.proto `pipe_entry`.
pub fn pipe_entry(buf: &[u8]) -> MsgResult<FileEntry> {
    let (mut id, mut pipe_id) = (None, 0);
    each(buf, |f| {
        match f.number {
            1 => id = Some(f.u32()?),
            2 => pipe_id = f.u32()?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(FileEntry {
        id: need(id, "id")?,
        ty: fd_type::PIPE,
        desc: FileDesc::Pipe { pipe_id },
    })
}

pub fn inet_sk_entry(buf: &[u8]) -> MsgResult<InetSk> {
    let mut s = InetSk::default();
    each(buf, |f| {
        match f.number {
            1 => s.id = f.u32()?,
            2 => s.ino = f.u32()?,
            3 => s.family = f.u32()?,
            4 => s.sock_type = f.u32()?,
            5 => s.proto = f.u32()?,
            6 => s.state = f.u32()?,
            7 => s.src_port = f.u32()?,
            8 => s.dst_port = f.u32()?,
            11 => f.packed_u32s(&mut s.src_addr)?,
            12 => f.packed_u32s(&mut s.dst_addr)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(s)
}

pub fn unix_sk_entry(buf: &[u8]) -> MsgResult<UnixSk> {
    let mut s = UnixSk::default();
    each(buf, |f| {
        match f.number {
            1 => s.id = f.u32()?,
            2 => s.ino = f.u32()?,
            3 => s.sock_type = f.u32()?,
            4 => s.state = f.u32()?,
            8 => s.peer = f.u32()?,
            11 => s.name = f.bytes()?.to_vec(),
            _ => {}
        }
        Ok(())
    })?;
    Ok(s)
}

/// The standalone images of older CRIU versions, as file entries.
pub fn inet_file(buf: &[u8]) -> MsgResult<FileEntry> {
    let s = inet_sk_entry(buf)?;
    Ok(FileEntry {
        id: s.id,
        ty: fd_type::INETSK,
        desc: FileDesc::Inet(s),
    })
}

pub fn unix_file(buf: &[u8]) -> MsgResult<FileEntry> {
    let s = unix_sk_entry(buf)?;
    Ok(FileEntry {
        id: s.id,
        ty: fd_type::UNIXSK,
        desc: FileDesc::Unix(s),
    })
}

impl InetSk {
    /// "tcp", "udp6", ...
    pub fn proto_name(&self) -> String {
        let base = match (self.proto, self.sock_type) {
            (6, _) => "tcp",
            (17, _) => "udp",
            (136, _) => "udplite",
            (_, 3) => "raw",
            (p, _) => return format!("ip-proto-{p}"),
        };
        if self.family == 10 {
            format!("{base}6")
        } else {
            base.to_string()
        }
    }

    pub fn src(&self) -> String {
        endpoint(self.family, &self.src_addr, self.src_port)
    }

    pub fn dst(&self) -> String {
        endpoint(self.family, &self.dst_addr, self.dst_port)
    }

    /// The TCP state name (include/net/tcp_states.h); other protocols keep the number.
    pub fn state_name(&self) -> String {
        let name = match self.state {
            1 => "ESTABLISHED",
            2 => "SYN_SENT",
            3 => "SYN_RECV",
            4 => "FIN_WAIT1",
            5 => "FIN_WAIT2",
            6 => "TIME_WAIT",
            7 => "CLOSE",
            8 => "CLOSE_WAIT",
            9 => "LAST_ACK",
            10 => "LISTEN",
            11 => "CLOSING",
            other => return format!("state {other}"),
        };
        name.to_string()
    }
}

/// An address as CRIU stores it (u32 words holding network-order bytes) with its port.
fn endpoint(family: u32, words: &[u32], port: u32) -> String {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    match (family, bytes.len()) {
        (2, 4) => format!("{}.{}.{}.{}:{port}", bytes[0], bytes[1], bytes[2], bytes[3]),
        (10, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&bytes);
            format!("[{}]:{port}", std::net::Ipv6Addr::from(b))
        }
        _ => format!("?:{port}"),
    }
}

impl UnixSk {
    pub fn type_name(&self) -> &'static str {
        match self.sock_type {
            1 => "stream",
            2 => "dgram",
            5 => "seqpacket",
            _ => "unix",
        }
    }

    /// The bound name: a path, `@abstract` (leading NUL), or empty.
    pub fn name_text(&self) -> String {
        match self.name.split_first() {
            Some((0, rest)) => format!("@{}", String::from_utf8_lossy(rest)),
            _ => String::from_utf8_lossy(&self.name).into_owned(),
        }
    }
}

/// What `ls -l /proc/PID/fd` would show for a file, made readable for sockets.
pub fn target(file: Option<&FileEntry>, ty: u32, id: u32) -> String {
    use fd_type as t;
    match file.map(|f| &f.desc) {
        Some(FileDesc::Reg { name }) => name.clone(),
        Some(FileDesc::Pipe { pipe_id }) => format!("pipe:[{pipe_id}]"),
        Some(FileDesc::Inet(s)) => {
            let mut out = format!("socket:[{}] {} {}", s.ino, s.proto_name(), s.src());
            if s.state != 10 && (s.dst_port != 0 || s.proto != 6) {
                out.push_str(&format!(" -> {}", s.dst()));
            }
            if s.proto == 6 {
                out.push_str(&format!(" {}", s.state_name()));
            }
            out
        }
        Some(FileDesc::Unix(s)) => {
            let name = s.name_text();
            let mut out = format!("socket:[{}] unix {}", s.ino, s.type_name());
            if !name.is_empty() {
                out.push_str(&format!(" {name}"));
            }
            if s.peer != 0 {
                out.push_str(&format!(" peer socket:[{}]", s.peer));
            }
            out
        }
        Some(FileDesc::Other) | None => match ty {
            t::EVENTFD => "anon_inode:[eventfd]".into(),
            t::EVENTPOLL => "anon_inode:[eventpoll]".into(),
            t::SIGNALFD => "anon_inode:[signalfd]".into(),
            t::TIMERFD => "anon_inode:[timerfd]".into(),
            t::INOTIFY => "anon_inode:inotify".into(),
            t::FANOTIFY => "anon_inode:[fanotify]".into(),
            t::PIDFD => "anon_inode:[pidfd]".into(),
            t::BPFMAP => "anon_inode:bpf-map".into(),
            t::FIFO => format!("fifo (file {id})"),
            t::PACKETSK => format!("packet socket (file {id})"),
            t::NETLINKSK => format!("netlink socket (file {id})"),
            t::TTY => format!("tty (file {id})"),
            t::NS => format!("namespace (file {id})"),
            t::TUNF => "/dev/net/tun".into(),
            t::MEMFD => format!("memfd (file {id})"),
            t::EXT => format!("external (file {id})"),
            t::REG => format!("unknown path (file {id})"),
            t::PIPE => "pipe:[?]".into(),
            other => format!("type {other} (file {id})"),
        },
    }
}
