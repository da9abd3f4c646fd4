//! The CRIU messages ktui reads, with only the fields it shows (field numbers from
//! checkpoint-restore/criu images/*.proto). Unknown fields are skipped, as protobuf requires.

use super::super::proto::{self, Field, ProtoError};
use super::ImageError;

/// A message that does not decode: bad wire data, or a required field missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsgError {
    Proto(ProtoError),
    Missing(&'static str),
}

impl From<ProtoError> for MsgError {
    fn from(e: ProtoError) -> Self {
        Self::Proto(e)
    }
}

impl MsgError {
    /// The image-level error for the record at byte `at`.
    pub fn at(self, at: usize) -> ImageError {
        match self {
            Self::Proto(source) => ImageError::Record { at, source },
            Self::Missing(field) => ImageError::Missing { at, field },
        }
    }
}

pub(super) type MsgResult<T> = std::result::Result<T, MsgError>;

pub(super) fn each(buf: &[u8], mut f: impl FnMut(&Field<'_>) -> MsgResult<()>) -> MsgResult<()> {
    for field in proto::fields(buf) {
        f(&field?)?;
    }
    Ok(())
}

pub(super) fn need<T>(v: Option<T>, name: &'static str) -> MsgResult<T> {
    v.ok_or(MsgError::Missing(name))
}

/// pstree.proto `pstree_entry`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PstreeEntry {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    pub threads: Vec<u32>,
}

pub fn pstree_entry(buf: &[u8]) -> MsgResult<PstreeEntry> {
    let (mut e, mut pid) = (PstreeEntry::default(), None);
    each(buf, |f| {
        match f.number {
            1 => pid = Some(f.u32()?),
            2 => e.ppid = f.u32()?,
            3 => e.pgid = f.u32()?,
            4 => e.sid = f.u32()?,
            5 => f.packed_u32s(&mut e.threads)?,
            _ => {}
        }
        Ok(())
    })?;
    e.pid = need(pid, "pid")?;
    Ok(e)
}

/// core.proto `core_entry`: the architecture, `tc` (task_core_entry) and `thread_core`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Core {
    pub mtype: u32,
    pub task_state: Option<u32>,
    pub exit_code: Option<u32>,
    /// The task's comm (tc.comm).
    pub comm: Option<String>,
    /// The thread's comm (thread_core.comm), for threads other than the leader.
    pub thread_comm: Option<String>,
    /// Old images keep the task's ids in core (core_entry.ids) instead of ids-PID.img.
    pub files_id: Option<u32>,
}

pub fn core_entry(buf: &[u8]) -> MsgResult<Core> {
    let mut c = Core::default();
    each(buf, |f| {
        match f.number {
            1 => c.mtype = f.u32()?,
            3 => each(f.bytes()?, |t| {
                match t.number {
                    1 => c.task_state = Some(t.u32()?),
                    2 => c.exit_code = Some(t.u32()?),
                    6 => c.comm = Some(t.string()?),
                    _ => {}
                }
                Ok(())
            })?,
            4 => c.files_id = Some(ids_entry(f.bytes()?)?.files_id),
            5 => each(f.bytes()?, |t| {
                if t.number == 13 {
                    c.thread_comm = Some(t.string()?);
                }
                Ok(())
            })?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(c)
}

/// The architecture names of `core_entry.march`, as OCI image configs spell them.
pub fn oci_arch(mtype: u32) -> Option<&'static str> {
    Some(match mtype {
        1 => "amd64",
        2 => "arm",
        3 => "arm64",
        4 => "ppc64le",
        5 => "s390x",
        6 => "mips64le",
        7 => "loong64",
        8 => "riscv64",
        _ => return None,
    })
}

/// task_core_entry.task_state as crit names it.
pub fn task_state_name(state: u32) -> String {
    match state {
        1 => "Alive".into(),
        3 => "Zombie".into(),
        6 => "Stopped".into(),
        other => format!("state {other}"),
    }
}

/// core.proto `task_kobj_ids_entry` (ids-PID.img): which fdinfo image holds the task's fds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ids {
    pub files_id: u32,
}

pub fn ids_entry(buf: &[u8]) -> MsgResult<Ids> {
    let mut files_id = None;
    each(buf, |f| {
        if f.number == 2 {
            files_id = Some(f.u32()?);
        }
        Ok(())
    })?;
    Ok(Ids {
        files_id: need(files_id, "files_id")?,
    })
}

/// fs.proto `fs_entry`: the cwd and root, as file ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fs {
    pub cwd_id: u32,
    pub root_id: u32,
}

pub fn fs_entry(buf: &[u8]) -> MsgResult<Fs> {
    let mut fs = Fs::default();
    each(buf, |f| {
        match f.number {
            1 => fs.cwd_id = f.u32()?,
            2 => fs.root_id = f.u32()?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(fs)
}

/// vma.proto `vma_entry`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub shmid: u64,
    pub prot: u32,
    pub flags: u32,
    pub status: u32,
}

/// vma_entry.status bits (criu/include/image.h).
pub mod vma_status {
    pub const REGULAR: u32 = 1 << 0;
    pub const STACK: u32 = 1 << 1;
    pub const VSYSCALL: u32 = 1 << 2;
    pub const VDSO: u32 = 1 << 3;
    pub const HEAP: u32 = 1 << 5;
    pub const FILE_PRIVATE: u32 = 1 << 6;
    pub const FILE_SHARED: u32 = 1 << 7;
    pub const ANON_SHARED: u32 = 1 << 8;
    pub const SYSVIPC: u32 = 1 << 10;
    pub const SOCKET: u32 = 1 << 11;
    pub const VVAR: u32 = 1 << 12;
    pub const AIORING: u32 = 1 << 13;
    pub const MEMFD: u32 = 1 << 14;
}

fn vma_entry(buf: &[u8]) -> MsgResult<Vma> {
    let (mut v, mut start, mut end) = (Vma::default(), None, None);
    each(buf, |f| {
        match f.number {
            1 => start = Some(f.u64()?),
            2 => end = Some(f.u64()?),
            3 => v.pgoff = f.u64()?,
            4 => v.shmid = f.u64()?,
            5 => v.prot = f.u32()?,
            6 => v.flags = f.u32()?,
            7 => v.status = f.u32()?,
            _ => {}
        }
        Ok(())
    })?;
    v.start = need(start, "vma start")?;
    v.end = need(end, "vma end")?;
    Ok(v)
}

/// mm.proto `mm_entry`: the executable and the VMAs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mm {
    pub exe_file_id: Option<u32>,
    pub vmas: Vec<Vma>,
}

pub fn mm_entry(buf: &[u8]) -> MsgResult<Mm> {
    let mut mm = Mm::default();
    each(buf, |f| {
        match f.number {
            12 => mm.exe_file_id = Some(f.u32()?),
            14 => mm.vmas.push(vma_entry(f.bytes()?)?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(mm)
}

/// pagemap.proto: `pagemap_head` then `pagemap_entry` records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pagemap {
    pub pages_id: u32,
    pub entries: Vec<PagemapEntry>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagemapEntry {
    pub vaddr: u64,
    pub nr_pages: u64,
    /// Whether the pages are in this image's pages file (PE_PRESENT; images from before the
    /// flags field: every entry not in the parent).
    pub present: bool,
}

const PE_PRESENT: u32 = 1 << 2;

pub fn pagemap(data: &[u8]) -> std::result::Result<Pagemap, ImageError> {
    let records = super::records(data, super::ImageType::Pagemap)?;
    let mut it = records.into_iter();
    let (at, head) = it.next().ok_or(ImageError::Empty)?;
    let mut pages_id = None;
    each(head, |f| {
        if f.number == 1 {
            pages_id = Some(f.u32()?);
        }
        Ok(())
    })
    .map_err(|e| e.at(at))?;
    let pages_id = need(pages_id, "pages_id").map_err(|e| e.at(at))?;
    let entries = it
        .map(|(at, rec)| pagemap_entry(rec).map_err(|e| e.at(at)))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Pagemap { pages_id, entries })
}

fn pagemap_entry(buf: &[u8]) -> MsgResult<PagemapEntry> {
    let (mut vaddr, mut compat, mut nr, mut flags, mut in_parent) = (None, 0u64, None, None, false);
    each(buf, |f| {
        match f.number {
            1 => vaddr = Some(f.u64()?),
            2 => compat = u64::from(f.u32()?),
            3 => in_parent = f.bool()?,
            4 => flags = Some(f.u32()?),
            5 => nr = Some(f.u64()?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(PagemapEntry {
        vaddr: need(vaddr, "vaddr")?,
        nr_pages: nr.unwrap_or(compat),
        present: flags.map_or(!in_parent, |fl| fl & PE_PRESENT != 0),
    })
}

/// fdinfo.proto `fdinfo_entry`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FdInfo {
    pub id: u32,
    pub ty: u32,
    pub fd: u32,
}

pub fn fdinfo_entry(buf: &[u8]) -> MsgResult<FdInfo> {
    let (mut id, mut ty, mut fd) = (None, 0, None);
    each(buf, |f| {
        match f.number {
            1 => id = Some(f.u32()?),
            3 => ty = f.u32()?,
            4 => fd = Some(f.u32()?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(FdInfo {
        id: need(id, "id")?,
        ty,
        fd: need(fd, "fd")?,
    })
}

/// inventory.proto `inventory_entry`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inventory {
    pub img_version: u32,
    /// fdinfo-N.img is named by the task's files_id (true) or by its pid (old images).
    pub fdinfo_per_id: bool,
}

pub fn inventory_entry(buf: &[u8]) -> MsgResult<Inventory> {
    let mut inv = Inventory::default();
    each(buf, |f| {
        match f.number {
            1 => inv.img_version = f.u32()?,
            2 => inv.fdinfo_per_id = f.bool()?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(inv)
}

/// stats.proto `stats_entry.dump` (stats-dump): what `checkpointctl show --stats` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DumpStats {
    /// Microseconds.
    pub freezing_time: u64,
    pub frozen_time: u64,
    pub memdump_time: u64,
    pub memwrite_time: u64,
    pub pages_scanned: u64,
    pub pages_skipped_parent: u64,
    pub pages_written: u64,
    pub pages_lazy: u64,
}

pub fn stats_entry(buf: &[u8]) -> MsgResult<Option<DumpStats>> {
    let mut out = None;
    each(buf, |f| {
        if f.number == 1 {
            let mut s = DumpStats::default();
            each(f.bytes()?, |d| {
                let v = d.u64()?;
                match d.number {
                    1 => s.freezing_time = v,
                    2 => s.frozen_time = v,
                    3 => s.memdump_time = v,
                    4 => s.memwrite_time = v,
                    5 => s.pages_scanned = v,
                    6 => s.pages_skipped_parent = v,
                    7 => s.pages_written = v,
                    9 => s.pages_lazy = v,
                    _ => {}
                }
                Ok(())
            })?;
            out = Some(s);
        }
        Ok(())
    })?;
    Ok(out)
}
