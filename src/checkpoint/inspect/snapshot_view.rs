//! A ktui live snapshot's report (layout version 1, see the issue 8 notes): snapshot.json,
//! written last, lists the processes, regions, descriptors and mounts; the memory members are
//! `memory/<pid>/<start>-<end>.bin`, so an occurrence's address is the region start plus its
//! offset.

use serde::Deserialize;
use serde_json::Value;

use super::error::{InspectError, Result};
use super::report::{Container, Fd, Mapping, Match, Mount, Process, SnapshotInfo, Socket};
use super::walk::Collected;

pub const SNAPSHOT_KIND: &str = "ktui-live-snapshot";

#[derive(Debug, Deserialize)]
struct Snap {
    kind: String,
    version: u64,
    #[serde(default)]
    atomic: bool,
    note: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    #[serde(default)]
    helper: Value,
    #[serde(default)]
    container: SnapContainer,
    #[serde(default)]
    processes: Vec<SnapProcess>,
    #[serde(default)]
    memory: Vec<SnapRegion>,
    #[serde(default)]
    fds: Vec<SnapFd>,
    #[serde(default)]
    rootfs: Value,
    #[serde(default)]
    deleted_files: Vec<String>,
    #[serde(default)]
    mounts: Vec<SnapMount>,
    #[serde(default)]
    unreadable: Value,
}

#[derive(Debug, Default, Deserialize)]
struct SnapContainer {
    name: Option<String>,
    id: Option<String>,
    image: Option<String>,
    image_ref: Option<String>,
    runtime: Option<String>,
    pod: Option<String>,
    namespace: Option<String>,
    created: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SnapProcess {
    pid: u32,
    /// null when the helper could not read it.
    ppid: Option<u32>,
    comm: Option<String>,
    uid: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct SnapRegion {
    pid: u32,
    start: String,
    end: String,
    #[serde(default)]
    prot: String,
    #[serde(default)]
    file: String,
    bytes: Option<u64>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SnapFd {
    pid: u32,
    fd: u32,
    target: String,
}

#[derive(Debug, Deserialize)]
struct SnapMount {
    destination: String,
    #[serde(default)]
    source: String,
    #[serde(rename = "type", default)]
    fs_type: String,
}

pub struct SnapshotView {
    pub container: Container,
    pub info: SnapshotInfo,
    pub processes: Vec<Process>,
    pub memory: Vec<Mapping>,
    pub fds: Vec<Fd>,
    pub sockets: Vec<Socket>,
    pub deleted_files: Vec<String>,
    pub mounts: Vec<Mount>,
    pub matches: Vec<Match>,
}

pub fn build(c: &Collected, archive: &str, warnings: &mut Vec<String>) -> Result<SnapshotView> {
    let incomplete = |why: &str| InspectError::SnapshotIncomplete {
        archive: archive.to_string(),
        why: why.to_string(),
    };
    let value = c.snapshot.clone().ok_or_else(|| {
        incomplete("snapshot.json, which the helper writes last, is missing (the stream was cut)")
    })?;
    let snap: Snap = serde_json::from_value(value).map_err(|source| InspectError::Json {
        archive: archive.to_string(),
        member: "snapshot.json".into(),
        source,
    })?;
    if snap.kind != SNAPSHOT_KIND {
        return Err(incomplete(&format!(
            "snapshot.json has kind {:?}, not {SNAPSHOT_KIND:?}",
            snap.kind
        )));
    }
    if snap.version != 1 {
        warnings.push(format!(
            "snapshot layout version {} (ktui reads version 1): fields may be missing",
            snap.version
        ));
    }
    let k = snap.container;
    let container = Container {
        name: k.name,
        id: k.id,
        image: k.image,
        image_ref: k.image_ref,
        runtime: k.runtime,
        engine: None,
        created: k.created,
        checkpointed: snap.started_at.clone(),
        pod: k.pod,
        namespace: k.namespace,
        ip: None,
        engine_name: None,
    };
    let processes = snap
        .processes
        .into_iter()
        .map(|p| Process {
            pid: p.pid,
            ppid: p.ppid.unwrap_or(0),
            comm: p.comm,
            pgid: None,
            sid: None,
            threads: Vec::new(),
            state: None,
            uid: p.uid,
            exe: None,
            cwd: None,
            root: None,
        })
        .collect();
    let hex = |s: &str| {
        u64::from_str_radix(s.trim_start_matches("0x"), 16)
            .map_or_else(|_| s.to_string(), |v| format!("{v:08x}"))
    };
    let memory = snap
        .memory
        .into_iter()
        .map(|r| Mapping {
            pid: r.pid,
            start: hex(&r.start),
            end: hex(&r.end),
            prot: r.prot,
            file: r.file,
            dumped: r.bytes,
            error: r.error,
        })
        .collect();
    let fds: Vec<Fd> = snap
        .fds
        .into_iter()
        .map(|f| Fd {
            pid: f.pid,
            fd: f.fd,
            target: f.target,
        })
        .collect();
    let sockets = fds
        .iter()
        .filter_map(|f| {
            let inode = super::proc_net::socket_inode(&f.target)?;
            let s = c.net_sockets.get(&inode)?;
            Some(Socket {
                pid: f.pid,
                fd: f.fd,
                proto: s.proto.clone(),
                local: s.local.clone(),
                remote: s.remote.clone(),
                state: s.state.clone(),
                inode: u32::try_from(inode).unwrap_or(u32::MAX),
            })
        })
        .collect();
    let mounts = snap
        .mounts
        .into_iter()
        .map(|m| Mount {
            destination: m.destination,
            source: m.source,
            fs_type: m.fs_type,
        })
        .collect();
    let regions: std::collections::HashMap<&str, &super::walk::Region> =
        c.regions.iter().map(|r| (r.member.as_str(), r)).collect();
    let matches = c
        .matches
        .iter()
        .map(|m| {
            let region = regions.get(m.file.as_str());
            Match {
                file: m.file.clone(),
                offset: m.offset,
                pid: region.and_then(|r| r.pid),
                address: region
                    .and_then(|r| r.start)
                    .map(|s| format!("{:x}", s.saturating_add(m.offset))),
            }
        })
        .collect();
    let info = SnapshotInfo {
        version: snap.version,
        atomic: snap.atomic,
        note: snap.note,
        started_at: snap.started_at,
        finished_at: snap.finished_at,
        helper: snap.helper,
        unreadable: snap.unreadable,
        rootfs: snap.rootfs,
    };
    Ok(SnapshotView {
        container,
        info,
        processes,
        memory,
        fds,
        sockets,
        deleted_files: snap.deleted_files,
        mounts,
        matches,
    })
}
