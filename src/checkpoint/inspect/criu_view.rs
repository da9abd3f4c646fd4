//! A CRIU checkpoint's report from what the pass collected: the container from config.dump and
//! spec.dump (as `checkpointctl show` reads them per engine), processes from pstree.img and
//! core-*.img, memory from mm-*.img, files from fdinfo/files, and each grep occurrence placed in
//! its process through the pagemap that names its pages image.

use std::collections::BTreeMap;

use super::criu::{self, FileDesc, vma_status as st};
use super::error::{InspectError, Result};
use super::report::{Container, Fd, Mapping, Match, Process, Socket};
use super::walk::Collected;

const PAGE: u64 = 4096;

/// The container as `checkpointctl show` reads it for each engine.
pub fn container(c: &Collected) -> Container {
    let config = c.config.clone().unwrap_or_default();
    let ann = c.spec.as_ref().map(|s| &s.annotations);
    let get = |k: &str| {
        ann.and_then(|a| a.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let mut out = Container {
        id: config.id.clone(),
        image: config
            .rootfs_image_name
            .clone()
            .or(config.rootfs_image.clone()),
        image_ref: config.rootfs_image_ref.clone(),
        runtime: config.runtime.clone(),
        created: config.created_time.clone(),
        checkpointed: config.checkpointed_time.clone(),
        engine_name: config.name.clone(),
        name: config.name.clone(),
        ..Container::default()
    };
    match get("io.container.manager").as_deref() {
        Some("cri-o") => {
            out.engine = Some("CRI-O".into());
            let meta: Option<serde_json::Value> =
                get("io.kubernetes.cri-o.Metadata").and_then(|m| serde_json::from_str(&m).ok());
            out.name = meta
                .and_then(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_owned))
                .or_else(|| get("io.kubernetes.container.name"))
                .or(out.name);
            out.pod = get("io.kubernetes.pod.name");
            out.namespace = get("io.kubernetes.pod.namespace");
            out.ip = get("io.kubernetes.cri-o.IP.0");
            out.created = get("io.kubernetes.cri-o.Created").or(out.created);
        }
        Some("libpod") => {
            out.engine = Some("Podman".into());
            out.ip = c.network_status.as_ref().and_then(podman_ips);
        }
        _ if ann.is_some() => {
            out.engine = Some("containerd".into());
            out.name = get("io.kubernetes.cri.container-name").or(out.name);
            out.pod = get("io.kubernetes.cri.sandbox-name");
            out.namespace = get("io.kubernetes.cri.sandbox-namespace");
        }
        _ => {}
    }
    out
}

/// Podman's network.status: `{net: {interfaces: {if: {subnets: [{ipnet: "10.88.0.5/16"}]}}}}`.
fn podman_ips(status: &serde_json::Value) -> Option<String> {
    let mut ips = Vec::new();
    for net in status.as_object()?.values() {
        let Some(ifaces) = net.get("interfaces").and_then(|i| i.as_object()) else {
            continue;
        };
        for iface in ifaces.values() {
            for subnet in iface
                .get("subnets")
                .and_then(|s| s.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(ip) = subnet.get("ipnet").and_then(|i| i.as_str()) {
                    ips.push(ip.split('/').next().unwrap_or(ip).to_string());
                }
            }
        }
    }
    (!ips.is_empty()).then(|| ips.join(", "))
}

pub struct CriuView {
    pub processes: Vec<Process>,
    pub memory: Vec<Mapping>,
    pub fds: Vec<Fd>,
    pub sockets: Vec<Socket>,
    pub matches: Vec<Match>,
}

/// Where each pages image's bytes live in a process: its present pagemap runs, in file order.
struct PageLayout {
    pid: Option<u32>,
    page: u64,
    /// (first page in the file, vaddr, pages)
    runs: Vec<(u64, u64, u64)>,
}

impl PageLayout {
    fn address(&self, offset: u64) -> Option<u64> {
        let page_no = offset / self.page;
        let i = self.runs.partition_point(|&(first, _, _)| first <= page_no);
        let &(first, vaddr, n) = self.runs.get(i.checked_sub(1)?)?;
        // Values from the archive's pagemap: checked, a wrapped address is worse than none.
        if page_no >= first.checked_add(n)? {
            return None;
        }
        (page_no - first)
            .checked_mul(self.page)?
            .checked_add(offset % self.page)?
            .checked_add(vaddr)
    }
}

pub fn build(c: &Collected, archive: &str, warnings: &mut Vec<String>) -> Result<CriuView> {
    if c.config.is_none() {
        return Err(InspectError::MissingConfig {
            archive: archive.to_string(),
        });
    }
    let layouts = page_layouts(c, warnings);
    let pstree = c.pstree.clone().unwrap_or_default();
    let file = |id: u32| c.files.get(&id);
    let name = |id: u32| match file(id).map(|f| &f.desc) {
        Some(FileDesc::Reg { name }) => Some(name.clone()),
        _ => None,
    };
    let mut processes = Vec::new();
    let mut memory = Vec::new();
    let (mut fds, mut sockets) = (Vec::new(), Vec::new());
    for p in &pstree {
        let core = c.cores.get(&p.pid);
        let mm = c.mms.get(&p.pid);
        let fs = c.fs.get(&p.pid);
        processes.push(Process {
            pid: p.pid,
            ppid: p.ppid,
            comm: core.and_then(|k| k.comm.clone()),
            pgid: Some(p.pgid),
            sid: Some(p.sid),
            threads: p.threads.clone(),
            state: core.and_then(|k| k.task_state).map(criu::task_state_name),
            uid: None,
            exe: mm.and_then(|m| m.exe_file_id).and_then(name),
            cwd: fs.and_then(|f| name(f.cwd_id)),
            root: fs.and_then(|f| name(f.root_id)),
        });
        let layout = layouts.iter().find(|l| l.pid == Some(p.pid));
        for vma in mm.map(|m| m.vmas.as_slice()).unwrap_or_default() {
            memory.push(mapping(p.pid, vma, layout, &c.files));
        }
        let files_id = c
            .ids
            .get(&p.pid)
            .map(|i| i.files_id)
            .or(core.and_then(|k| k.files_id));
        let per_id = c.inventory.is_none_or(|i| i.fdinfo_per_id);
        let key = if per_id { files_id } else { Some(p.pid) };
        for fd in key.and_then(|k| c.fdinfo.get(&k)).into_iter().flatten() {
            let f = file(fd.id);
            fds.push(Fd {
                pid: p.pid,
                fd: fd.fd,
                target: criu::target(f, fd.ty, fd.id),
            });
            if let Some(s) = f.and_then(|f| socket(p.pid, fd.fd, &f.desc)) {
                sockets.push(s);
            }
        }
    }
    for (pid, core) in &c.cores {
        if !pstree
            .iter()
            .any(|p| p.pid == *pid || p.threads.contains(pid))
            && core.comm.is_some()
        {
            warnings.push(format!(
                "core-{pid}.img names a task pstree.img does not list"
            ));
        }
    }
    let matches = c
        .matches
        .iter()
        .map(|m| {
            let layout = pages_id(&m.file)
                .and_then(|id| c.pagemaps.iter().position(|(_, pm)| pm.pages_id == id))
                .and_then(|i| layouts.get(i));
            Match {
                file: m.file.clone(),
                offset: m.offset,
                pid: layout.and_then(|l| l.pid),
                address: layout
                    .and_then(|l| l.address(m.offset))
                    .map(|a| format!("{a:x}")),
            }
        })
        .collect();
    Ok(CriuView {
        processes,
        memory,
        fds,
        sockets,
        matches,
    })
}

fn pages_id(member: &str) -> Option<u32> {
    member
        .strip_prefix("checkpoint/pages-")?
        .strip_suffix(".img")?
        .parse()
        .ok()
}

/// One layout per pagemap (same order as `c.pagemaps`), its page size checked against the size
/// of the pages image it names.
fn page_layouts(c: &Collected, warnings: &mut Vec<String>) -> Vec<PageLayout> {
    c.pagemaps
        .iter()
        .map(|(pid, pm)| {
            let mut runs = Vec::new();
            let mut next = 0u64;
            for e in pm.entries.iter().filter(|e| e.present) {
                runs.push((next, e.vaddr, e.nr_pages));
                next = next.saturating_add(e.nr_pages);
            }
            let size = c.pages.get(&pm.pages_id).map(|(_, s)| *s);
            let page = match size {
                Some(s)
                    if next > 0
                        && s % next == 0
                        && (s / next).is_power_of_two()
                        && s / next >= PAGE =>
                {
                    s / next
                }
                Some(s) => {
                    if s != next.saturating_mul(PAGE) {
                        warnings.push(format!(
                            "checkpoint/pages-{}.img holds {s} bytes but its pagemap lists {next} \
                             pages: addresses of matches in it may be wrong",
                            pm.pages_id
                        ));
                    }
                    PAGE
                }
                None => PAGE,
            };
            PageLayout {
                pid: *pid,
                page,
                runs,
            }
        })
        .collect()
}

fn mapping(
    pid: u32,
    vma: &criu::Vma,
    layout: Option<&PageLayout>,
    files: &BTreeMap<u32, criu::FileEntry>,
) -> Mapping {
    let s = vma.status;
    let file = if s & (st::FILE_PRIVATE | st::FILE_SHARED) != 0 {
        match u32::try_from(vma.shmid)
            .ok()
            .and_then(|id| files.get(&id))
            .map(|f| &f.desc)
        {
            Some(FileDesc::Reg { name }) => name.clone(),
            _ => format!("(file {})", vma.shmid),
        }
    } else if s & st::SYSVIPC != 0 {
        "[sysv shm]".into()
    } else if s & st::ANON_SHARED != 0 {
        "[anon shared]".into()
    } else if s & st::SOCKET != 0 {
        "[packet socket]".into()
    } else if s & st::MEMFD != 0 {
        "[memfd]".into()
    } else if s & st::VDSO != 0 {
        "[vdso]".into()
    } else if s & st::VVAR != 0 {
        "[vvar]".into()
    } else if s & st::VSYSCALL != 0 {
        "[vsyscall]".into()
    } else if s & st::STACK != 0 || vma.flags & 0x100 != 0 {
        "[stack]".into()
    } else if s & st::HEAP != 0 {
        "[heap]".into()
    } else if s & st::AIORING != 0 {
        "[aio]".into()
    } else {
        String::new()
    };
    let flag = |bit: u32, c: char| if vma.prot & bit != 0 { c } else { '-' };
    let prot = format!(
        "{}{}{}{}",
        flag(1, 'r'),
        flag(2, 'w'),
        flag(4, 'x'),
        if vma.flags & 1 != 0 { 's' } else { 'p' }
    );
    let dumped = layout.map(|l| {
        l.runs
            .iter()
            .map(|&(_, vaddr, n)| {
                let end = vaddr.saturating_add(n.saturating_mul(l.page));
                end.min(vma.end).saturating_sub(vaddr.max(vma.start))
            })
            .sum()
    });
    Mapping {
        pid,
        start: format!("{:08x}", vma.start),
        end: format!("{:08x}", vma.end),
        prot,
        file,
        dumped,
        error: None,
    }
}

fn socket(pid: u32, fd: u32, desc: &FileDesc) -> Option<Socket> {
    match desc {
        FileDesc::Inet(s) => Some(Socket {
            pid,
            fd,
            proto: s.proto_name(),
            local: s.src(),
            remote: (s.state != 10).then(|| s.dst()),
            state: (s.proto == 6).then(|| s.state_name()),
            inode: s.ino,
        }),
        FileDesc::Unix(s) => Some(Socket {
            pid,
            fd,
            proto: format!("unix-{}", s.type_name()),
            local: s.name_text(),
            remote: (s.peer != 0).then(|| format!("socket:[{}]", s.peer)),
            state: None,
            inode: s.ino,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_addresses_through_present_runs() {
        let l = PageLayout {
            pid: Some(7),
            page: 4096,
            runs: vec![(0, 0x1000, 2), (2, 0x10000, 1)],
        };
        assert_eq!(l.address(0), Some(0x1000));
        assert_eq!(l.address(4096 + 5), Some(0x2005));
        assert_eq!(l.address(2 * 4096 + 16), Some(0x10010));
        assert_eq!(l.address(3 * 4096), None, "past the last run");
    }
}
