//! One pass over the archive: each member is looked at once, in tar order. Small metadata
//! (config.dump, spec.dump, CRIU images but the pages) is decoded in memory within fixed caps;
//! pages images and snapshot memory regions are only streamed through the `--grep` scanner;
//! everything else is skipped. What needs several members (which pid a pages image belongs to)
//! is resolved after the pass, in [`super::criu_view`] and [`super::snapshot_view`].

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use serde::Deserialize;

use super::criu::{self, ImageType};
use super::error::{InspectError, Result};
use super::grep::Scanner;
use super::tar::{Kind as TarKind, Member, TarReader};
use super::{MAX_LISTED, MAX_METADATA, MAX_SMALL_JSON};

mod criu_images;

/// config.dump (checkpointctl lib/metadata.go `ContainerConfig`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigDump {
    pub id: Option<String>,
    pub name: Option<String>,
    pub rootfs_image: Option<String>,
    pub rootfs_image_ref: Option<String>,
    pub rootfs_image_name: Option<String>,
    pub runtime: Option<String>,
    pub created_time: Option<String>,
    pub checkpointed_time: Option<String>,
}

/// The parts of spec.dump (the container's OCI config.json) that are shown.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SpecDump {
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub mounts: Vec<SpecMount>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpecMount {
    pub destination: String,
    #[serde(rename = "type")]
    pub fs_type: Option<String>,
    pub source: Option<String>,
}

/// Where an occurrence of the grep text is, before pids are resolved.
#[derive(Debug, Clone)]
pub struct RawMatch {
    pub file: String,
    pub offset: u64,
}

/// A memory member of a live snapshot.
#[derive(Debug, Clone)]
pub struct Region {
    pub member: String,
    pub pid: Option<u32>,
    pub start: Option<u64>,
}

/// Everything the pass kept.
#[derive(Debug, Default)]
pub struct Collected {
    pub config: Option<ConfigDump>,
    pub spec: Option<SpecDump>,
    pub network_status: Option<serde_json::Value>,
    pub stats: Option<criu::DumpStats>,
    pub deleted_files: Option<Vec<String>>,
    pub rootfs_listed: Vec<String>,
    pub rootfs_total: u64,
    pub rootfs_size: Option<u64>,
    pub dump_log: Option<(u64, String)>,
    pub bind_mounts: bool,
    pub checkpoint_dir: bool,
    pub inventory: Option<criu::Inventory>,
    pub pstree: Option<Vec<criu::PstreeEntry>>,
    pub cores: BTreeMap<u32, criu::Core>,
    pub mms: BTreeMap<u32, criu::Mm>,
    /// pagemap images: owner pid (None: shared memory) and content.
    pub pagemaps: Vec<(Option<u32>, criu::Pagemap)>,
    pub ids: BTreeMap<u32, criu::Ids>,
    pub fs: BTreeMap<u32, criu::Fs>,
    pub fdinfo: BTreeMap<u32, Vec<criu::FdInfo>>,
    pub files: BTreeMap<u32, criu::FileEntry>,
    /// pages-N.img by N: member path and size.
    pub pages: BTreeMap<u32, (String, u64)>,
    pub checkpoint_bytes: u64,
    pub pages_bytes: u64,
    pub snapshot: Option<serde_json::Value>,
    pub snapshot_parts: bool,
    pub regions: Vec<Region>,
    pub proc_bytes: u64,
    /// Sockets of the snapshot's proc/<pid>/net tables, by inode.
    pub net_sockets: std::collections::HashMap<u64, super::proc_net::NetSocket>,
    pub kmsg: Option<Vec<String>>,
    pub matches: Vec<RawMatch>,
    pub match_total: u64,
    pub images_scanned: u64,
    pub bytes_scanned: u64,
    pub warnings: Vec<String>,
}

pub struct Walk {
    archive: String,
    scanner: Option<Scanner>,
    metadata_used: u64,
    /// Records, VMAs, pagemap entries, descriptors and files decoded so far.
    items: u64,
    seen: HashSet<String>,
    pub c: Collected,
}

impl Walk {
    pub fn new(archive: &str, scanner: Option<Scanner>) -> Self {
        Self {
            archive: archive.to_string(),
            scanner,
            metadata_used: 0,
            items: 0,
            seen: HashSet::new(),
            c: Collected::default(),
        }
    }

    /// Reads every member of `tar`.
    pub fn run<R: Read>(&mut self, tar: &mut TarReader<R>) -> Result<()> {
        let mut first = true;
        loop {
            let member = tar
                .next_member()
                .map_err(|e| InspectError::from_tar(&self.archive, e, first))?;
            first = false;
            let Some(member) = member else { break };
            if member.path.is_empty() || member.kind != TarKind::File {
                self.note_dir(&member);
                continue;
            }
            self.member(tar, &member)?;
        }
        if !tar.ended_with_marker {
            self.c.warnings.push(
                "the archive ends without tar's end-of-archive blocks (it may have been cut \
                 exactly between two members)"
                    .into(),
            );
        }
        Ok(())
    }

    fn note_dir(&mut self, m: &Member) {
        if m.path == "checkpoint" || m.path.starts_with("checkpoint/") {
            self.c.checkpoint_dir = true;
        }
    }

    fn member<R: Read>(&mut self, tar: &mut TarReader<R>, m: &Member) -> Result<()> {
        let path = m.path.as_str();
        if let Some(name) = path.strip_prefix("checkpoint/") {
            self.c.checkpoint_dir = true;
            self.c.checkpoint_bytes += m.size;
            return self.criu_member(tar, m, name);
        }
        if path.starts_with("memory/") {
            self.c.snapshot_parts = true;
            return self.region(tar, m);
        }
        if let Some(rest) = path.strip_prefix("proc/") {
            self.c.snapshot_parts = true;
            self.c.proc_bytes += m.size;
            let table = rest.split_once("/net/").map(|(_, t)| t);
            if let Some(table) =
                table.filter(|t| ["tcp", "tcp6", "udp", "udp6", "unix"].contains(t))
            {
                let data = self.small(tar, m, MAX_METADATA, "/proc net table")?;
                let text = String::from_utf8_lossy(&data);
                super::proc_net::parse_table(table, &text, &mut self.c.net_sockets, MAX_LISTED);
            }
            return Ok(());
        }
        match path {
            "config.dump" => {
                self.c.config = Some(self.json(tar, m, MAX_SMALL_JSON, "config.dump")?);
            }
            "spec.dump" => self.c.spec = Some(self.json(tar, m, MAX_METADATA, "spec.dump")?),
            "network.status" => {
                self.c.network_status =
                    Some(self.json(tar, m, MAX_SMALL_JSON, "network.status")?);
            }
            "deleted.files" => {
                self.c.deleted_files = Some(self.json(tar, m, MAX_METADATA, "deleted.files")?);
            }
            "snapshot.json" => {
                self.c.snapshot = Some(self.json(tar, m, MAX_METADATA, "snapshot.json")?);
            }
            "stats-dump" => {
                let data = self.small(tar, m, MAX_SMALL_JSON, "stats-dump")?;
                self.c.stats = criu::decode_one(&data, ImageType::Stats, criu::stats_entry)
                    .map_err(|e| self.image_error(m, e))?;
            }
            "bind.mounts" => self.c.bind_mounts = true,
            "rootfs-diff.tar" => self.rootfs_diff(tar, m)?,
            "dump.log" => self.c.dump_log = Some((m.size, last_line(tar, &self.archive)?)),
            "kmsg.txt" => {
                let data = self.small(tar, m, MAX_METADATA, "kmsg.txt")?;
                let text = String::from_utf8_lossy(&data);
                self.c.kmsg = Some(text.lines().take(MAX_LISTED).map(str::to_owned).collect());
            }
            _ => {}
        }
        Ok(())
    }

    fn region<R: Read>(&mut self, tar: &mut TarReader<R>, m: &Member) -> Result<()> {
        let parsed = parse_region_name(&m.path);
        if parsed.is_none() {
            self.c.warnings.push(format!(
                "memory member {} is not named memory/<pid>/<start>-<end>.bin: its pid is unknown",
                m.path
            ));
        }
        self.c.pages_bytes += m.size;
        self.c.regions.push(Region {
            member: m.path.clone(),
            pid: parsed.map(|p| p.0),
            start: parsed.map(|p| p.1),
        });
        self.scan(tar, m)
    }

    /// Streams a memory image through the scanner (or lets the next member skip it).
    fn scan<R: Read>(&mut self, tar: &mut TarReader<R>, m: &Member) -> Result<()> {
        if self.seen.contains(&m.path) {
            self.c.warnings.push(format!(
                "{} appears twice in the archive; only its last copy is searched (as `tar xf` \
                 keeps only the last)",
                m.path
            ));
            self.c.matches.retain(|r| r.file != m.path);
        }
        self.seen.insert(m.path.clone());
        let Some(scanner) = self.scanner.as_mut() else {
            return Ok(());
        };
        let (matches, total) = (&mut self.c.matches, &mut self.c.match_total);
        let file = &m.path;
        let scanned = scanner
            .scan(
                |buf| tar.read_data(buf),
                |offset| {
                    *total += 1;
                    if matches.len() < MAX_LISTED {
                        matches.push(RawMatch {
                            file: file.clone(),
                            offset,
                        });
                    }
                },
            )
            .map_err(|e| InspectError::from_tar(&self.archive, e, false))?;
        self.c.images_scanned += 1;
        self.c.bytes_scanned += scanned;
        Ok(())
    }

    fn rootfs_diff<R: Read>(&mut self, tar: &mut TarReader<R>, m: &Member) -> Result<()> {
        self.c.rootfs_size = Some(m.size);
        let archive = self.archive.clone();
        let mut inner = TarReader::new(tar.member_reader(), Some(m.size));
        loop {
            match inner.next_member() {
                Ok(Some(e)) if e.path.is_empty() => {}
                Ok(Some(e)) => {
                    self.c.rootfs_total += 1;
                    if self.c.rootfs_listed.len() < MAX_LISTED {
                        self.c.rootfs_listed.push(e.listed_name());
                    }
                }
                Ok(None) => return Ok(()),
                Err(source) => {
                    if let Some(outer) = inner.get_mut().failed.take() {
                        return Err(InspectError::from_tar(&archive, outer, false));
                    }
                    return Err(InspectError::Nested {
                        archive,
                        member: m.path.clone(),
                        source,
                    });
                }
            }
        }
    }

    fn small<R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        m: &Member,
        cap: u64,
        what: &'static str,
    ) -> Result<Vec<u8>> {
        if m.size > cap {
            return Err(InspectError::TooLarge {
                archive: self.archive.clone(),
                member: m.path.clone(),
                what,
                declared: m.size,
                cap,
            });
        }
        tar.read_small()
            .map_err(|e| InspectError::from_tar(&self.archive, e, false))
    }

    fn json<T: serde::de::DeserializeOwned, R: Read>(
        &mut self,
        tar: &mut TarReader<R>,
        m: &Member,
        cap: u64,
        what: &'static str,
    ) -> Result<T> {
        self.warn_duplicate(m);
        let data = self.small(tar, m, cap, what)?;
        serde_json::from_slice(&data).map_err(|source| InspectError::Json {
            archive: self.archive.clone(),
            member: m.path.clone(),
            source,
        })
    }

    fn warn_duplicate(&mut self, m: &Member) {
        if !self.seen.insert(m.path.clone()) {
            self.c.warnings.push(format!(
                "{} appears twice in the archive; the last copy is used (as `tar xf` keeps it)",
                m.path
            ));
        }
    }

    fn image_error(&self, m: &Member, source: criu::ImageError) -> InspectError {
        InspectError::Image {
            archive: self.archive.clone(),
            member: m.path.clone(),
            source,
        }
    }
}

/// `memory/<pid>/<start>-<end>.bin` → (pid, start).
fn parse_region_name(path: &str) -> Option<(u32, u64)> {
    let rest = path.strip_prefix("memory/")?;
    let (pid, file) = rest.split_once('/')?;
    let range = file.strip_suffix(".bin")?;
    let (start, end) = range.split_once('-')?;
    u64::from_str_radix(end, 16).ok()?;
    Some((pid.parse().ok()?, u64::from_str_radix(start, 16).ok()?))
}

/// The last line of a streamed text member (dump.log), keeping only its tail in memory.
fn last_line<R: Read>(tar: &mut TarReader<R>, archive: &str) -> Result<String> {
    const TAIL: usize = 4096;
    let mut tail: Vec<u8> = Vec::with_capacity(2 * TAIL);
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = tar
            .read_data(&mut buf)
            .map_err(|e| InspectError::from_tar(archive, e, false))?;
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[n.saturating_sub(TAIL)..n]);
        if tail.len() > TAIL {
            tail.drain(..tail.len() - TAIL);
        }
    }
    let text = String::from_utf8_lossy(&tail);
    Ok(text
        .trim_end()
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names_parse_as_the_snapshot_layout_says() {
        assert_eq!(
            parse_region_name("memory/42/7f12a0000000-7f12a0021000.bin"),
            Some((42, 0x7f12_a000_0000))
        );
        assert_eq!(parse_region_name("memory/42/x.bin"), None);
        assert_eq!(parse_region_name("memory/x/1-2.bin"), None);
        assert_eq!(parse_region_name("memory/1/1-2.txt"), None);
    }
}
