//! `ktui checkpoint inspect ARCHIVE [--json] [--grep TEXT]` (pinned): what a checkpoint holds,
//! read in one streaming pass — never extracted, the pages never loaded whole, nothing written.
//!
//! Two layouts: a CRIU checkpoint as the kubelet / CRI-O / Podman / containerd export it
//! (config.dump, spec.dump, stats-dump, dump.log, bind.mounts, rootfs-diff.tar, deleted.files,
//! network.status, checkpoint/*.img) and a ktui live snapshot (snapshot.json, proc/, memory/,
//! rootfs-diff.tar, kmsg.txt). Memory stays bounded whatever the archive's size: metadata members
//! are capped (see the constants), lists stop at [`MAX_LISTED`] entries (with totals), and the
//! memory images go through the grep scanner one chunk at a time.

pub mod criu;
mod criu_view;
pub mod error;
pub mod grep;
mod proc_net;
mod proto;
pub mod report;
mod snapshot_view;
pub mod tar;
mod text;
mod walk;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use error::{InspectError, Result};
pub use report::{Kind, Report};
pub use text::render as render_text;

/// The largest config.dump / network.status / stats-dump accepted (they are a few hundred bytes).
pub const MAX_SMALL_JSON: u64 = 1024 * 1024;
/// The largest single metadata member (spec.dump, deleted.files, snapshot.json, one CRIU image).
pub const MAX_METADATA: u64 = 16 * 1024 * 1024;
/// All CRIU metadata images together.
pub const MAX_METADATA_TOTAL: u64 = 32 * 1024 * 1024;
/// The most records (processes, VMAs, pagemap entries, descriptors, files) decoded in all: a
/// large real container has a few hundred thousand at most.
pub const MAX_ITEMS: u64 = 400_000;
/// The longest list kept (grep matches, rootfs-diff paths, kernel log lines).
pub const MAX_LISTED: usize = 100_000;

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The archive: a checkpoint the kubelet, CRI-O, Podman or containerd wrote (.tar, also
    /// .tar.gz), or a ktui live snapshot.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// One JSON object instead of the text view.
    #[arg(long)]
    pub json: bool,
    /// Find every occurrence of TEXT (fixed bytes, case-sensitive) in the memory images:
    /// member, offset in it (as `grep -abo` on the extracted file), process and address.
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
}

/// `ktui checkpoint inspect`: 0 when the archive was read, 1 with the reason when not.
pub fn inspect_cmd(args: &InspectArgs) -> u8 {
    let report = match inspect(&args.archive, args.grep.as_deref().map(str::as_bytes)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ktui: {}", crate::sanitize::line(&e.to_string()));
            return 1;
        }
    };
    let out = if args.json {
        match crate::sanitize::json::to_string(&report) {
            Ok(line) => line + "\n",
            Err(e) => {
                eprintln!("ktui: cannot write the report as JSON: {e}");
                return 1;
            }
        }
    } else {
        render_text(&report)
    };
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 1;
    }
    0
}

/// Reads `path` once and reports what it holds; with `grep`, every occurrence of those bytes in
/// its memory images.
pub fn inspect(path: &Path, grep: Option<&[u8]>) -> Result<Report> {
    let archive = path.display().to_string();
    let scanner = match grep {
        None => None,
        Some(text) => Some(grep::Scanner::new(text).ok_or_else(|| {
            InspectError::BadGrep(if text.is_empty() {
                "TEXT is empty (it would match every byte)".into()
            } else {
                format!(
                    "TEXT is {} bytes; at most {} are accepted",
                    text.len(),
                    grep::MAX_TEXT
                )
            })
        })?),
    };
    let (reader, len, archive_len) = open(path, &archive)?;
    let mut tar = tar::TarReader::new(reader, len);
    let mut walk = walk::Walk::new(&archive, scanner);
    walk.run(&mut tar)?;
    assemble(&archive, archive_len, walk.c, grep)
}

/// The decompressed stream of `path`, its length when it is a plain tar, and the file's size.
pub fn open(path: &Path, archive: &str) -> Result<(Box<dyn Read>, Option<u64>, u64)> {
    let open_err = |source| InspectError::Open {
        archive: archive.to_string(),
        source,
    };
    let file = File::open(path).map_err(open_err)?;
    let len = file.metadata().map_err(open_err)?.len();
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let head = reader.fill_buf().map_err(open_err)?;
    match head {
        [0x1f, 0x8b, ..] => Ok((
            Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
            None,
            len,
        )),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Err(InspectError::Compressed {
            archive: archive.to_string(),
            format: "zstd",
            hint: "`zstd -d ARCHIVE`; Podman compresses exports with zstd unless given --compress none",
        }),
        [b'B', b'Z', b'h', ..] => Err(InspectError::Compressed {
            archive: archive.to_string(),
            format: "bzip2",
            hint: "`bunzip2 -k ARCHIVE`",
        }),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Err(InspectError::Compressed {
            archive: archive.to_string(),
            format: "xz",
            hint: "`xz -dk ARCHIVE`",
        }),
        _ => Ok((Box::new(reader), Some(len), len)),
    }
}

fn assemble(
    archive: &str,
    archive_len: u64,
    c: walk::Collected,
    grep: Option<&[u8]>,
) -> Result<Report> {
    let mut warnings = c.warnings.clone();
    let kind = if c.snapshot.is_some() {
        Kind::Snapshot
    } else if c.config.is_some() || c.checkpoint_dir {
        Kind::Criu
    } else if c.snapshot_parts {
        Kind::Snapshot
    } else {
        return Err(InspectError::NotACheckpoint {
            archive: archive.to_string(),
        });
    };
    let mut absent = Vec::new();
    let mut report = Report {
        archive: archive.to_string(),
        kind,
        container: report::Container::default(),
        arch: None,
        sizes: report::Sizes {
            archive: archive_len,
            checkpoint: 0,
            rootfs_diff: c.rootfs_size,
            pages: c.pages_bytes,
        },
        processes: Vec::new(),
        memory: Vec::new(),
        fds: Vec::new(),
        sockets: Vec::new(),
        rootfs_diff: c.rootfs_listed.clone(),
        rootfs_diff_total: c.rootfs_total,
        deleted_files: c.deleted_files.clone().unwrap_or_default(),
        mounts: Vec::new(),
        matches: None,
        grep: None,
        criu_stats: c.stats,
        snapshot: None,
        kmsg: None,
        absent: Vec::new(),
        warnings: Vec::new(),
    };
    let matches = match kind {
        Kind::Criu => {
            let view = criu_view::build(&c, archive, &mut warnings)?;
            report.container = criu_view::container(&c);
            report.sizes.checkpoint = c.checkpoint_bytes;
            report.arch = c
                .cores
                .values()
                .find_map(|k| criu::oci_arch(k.mtype))
                .map(str::to_owned);
            report.processes = view.processes;
            report.memory = view.memory;
            report.fds = view.fds;
            report.sockets = view.sockets;
            report.mounts = c
                .spec
                .iter()
                .flat_map(|s| &s.mounts)
                .map(|m| report::Mount {
                    destination: m.destination.clone(),
                    source: m.source.clone().unwrap_or_default(),
                    fs_type: m.fs_type.clone().unwrap_or_default(),
                })
                .collect();
            let optional: [(&str, bool); 8] = [
                ("spec.dump", c.spec.is_some()),
                ("stats-dump", c.stats.is_some()),
                ("dump.log", c.dump_log.is_some()),
                ("bind.mounts", c.bind_mounts),
                ("rootfs-diff.tar", c.rootfs_size.is_some()),
                ("deleted.files", c.deleted_files.is_some()),
                ("checkpoint/pstree.img", c.pstree.is_some()),
                ("checkpoint/inventory.img", c.inventory.is_some()),
            ];
            absent.extend(
                optional
                    .iter()
                    .filter(|(_, has)| !has)
                    .map(|(n, _)| n.to_string()),
            );
            if let Some((size, last)) = &c.dump_log
                && !last.contains("finished successfully")
            {
                warnings.push(format!(
                    "dump.log ({size} bytes) does not end with CRIU's \"Dumping finished \
                     successfully\": its last line is {last:?}"
                ));
            }
            view.matches
        }
        Kind::Snapshot => {
            let view = snapshot_view::build(&c, archive, &mut warnings)?;
            report.container = view.container;
            report.sizes.checkpoint = c.proc_bytes + c.pages_bytes;
            report.processes = view.processes;
            report.memory = view.memory;
            report.fds = view.fds;
            report.sockets = view.sockets;
            report.deleted_files = view.deleted_files;
            report.mounts = view.mounts;
            report.snapshot = Some(view.info);
            report.kmsg = c.kmsg.clone();
            let optional = [
                ("rootfs-diff.tar", c.rootfs_size.is_some()),
                ("kmsg.txt", c.kmsg.is_some()),
            ];
            absent.extend(
                optional
                    .iter()
                    .filter(|(_, has)| !has)
                    .map(|(n, _)| n.to_string()),
            );
            view.matches
        }
    };
    if let Some(text) = grep {
        report.grep = Some(report::GrepSummary {
            text: String::from_utf8_lossy(text).into_owned(),
            total: c.match_total,
            images: c.images_scanned,
            bytes_scanned: c.bytes_scanned,
        });
        if c.match_total > matches.len() as u64 {
            warnings.push(format!(
                "{} occurrences found; the first {} are listed",
                c.match_total,
                matches.len()
            ));
        }
        report.matches = Some(matches);
    }
    if c.rootfs_total > c.rootfs_listed.len() as u64 {
        warnings.push(format!(
            "rootfs-diff.tar has {} members; the first {} are listed",
            c.rootfs_total,
            c.rootfs_listed.len()
        ));
    }
    report.absent = absent;
    report.warnings = warnings;
    Ok(report)
}

#[cfg(test)]
mod tests;
