//! The text view: a `checkpointctl show`-like table, then the process tree, memory map, open
//! files and sockets, rootfs changes, mounts and grep matches. Every string that came from the
//! archive goes through [`crate::sanitize::line`] here.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::report::{Kind, Report, human_bytes};
use crate::sanitize;

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

fn opt(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "-".to_string(), s)
}

/// Columns padded to their widest cell (cells already sanitised).
fn table(out: &mut String, indent: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::from(indent);
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(w - cell.width() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(out, &mut header.iter().copied());
    for row in rows {
        line(out, &mut row.iter().map(String::as_str));
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let what = match r.kind {
        Kind::Criu => "container checkpoint (CRIU)",
        Kind::Snapshot => "live snapshot (not a CRIU image: it cannot be restored)",
    };
    let _ = writeln!(out, "\nDisplaying {what} data from {}\n", s(&r.archive));
    let c = &r.container;
    let id =
        c.id.as_deref()
            .map(|i| i.chars().take(12).collect::<String>());
    table(
        &mut out,
        "",
        &[
            "CONTAINER",
            "IMAGE",
            "ID",
            "RUNTIME",
            "CREATED",
            "ENGINE",
            "IP",
            "CHKPT SIZE",
            "ROOT FS DIFF SIZE",
        ],
        &[vec![
            opt(&c.name),
            opt(&c.image),
            opt(&id),
            opt(&c.runtime),
            opt(&c.created),
            opt(&c.engine),
            opt(&c.ip),
            human_bytes(r.sizes.checkpoint),
            r.sizes.rootfs_diff.map_or_else(|| "-".into(), human_bytes),
        ]],
    );
    out.push('\n');
    if c.pod.is_some() || c.namespace.is_some() {
        let _ = writeln!(out, "Pod:          {}/{}", opt(&c.namespace), opt(&c.pod));
    }
    let _ = writeln!(out, "Checkpointed: {}", opt(&c.checkpointed));
    let _ = writeln!(out, "Memory pages: {}", human_bytes(r.sizes.pages));
    if let Some(st) = &r.criu_stats {
        let _ = writeln!(
            out,
            "CRIU dump:    frozen {} (freezing {}), memdump {}, memwrite {}, {} pages scanned, {} \
             written",
            ms(st.frozen_time),
            ms(st.freezing_time),
            ms(st.memdump_time),
            ms(st.memwrite_time),
            st.pages_scanned,
            st.pages_written
        );
    }
    if let Some(snap) = &r.snapshot {
        let _ = writeln!(
            out,
            "Snapshot:     {} to {}, {}",
            opt(&snap.started_at),
            opt(&snap.finished_at),
            if snap.atomic {
                "atomic"
            } else {
                "NOT atomic (processes kept running)"
            }
        );
        if let Some(note) = &snap.note {
            let _ = writeln!(out, "Note:         {}", s(note));
        }
    }
    process_tree(&mut out, r);
    section(&mut out, "Memory map", r.memory.is_empty());
    let rows: Vec<Vec<String>> = r
        .memory
        .iter()
        .map(|m| {
            let mut file = s(&m.file);
            if let Some(e) = &m.error {
                file.push_str(&format!(" (read error: {})", s(e)));
            }
            vec![
                m.pid.to_string(),
                format!("{}-{}", s(&m.start), s(&m.end)),
                s(&m.prot),
                m.dumped.map_or_else(|| "-".into(), human_bytes),
                file,
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(
            &mut out,
            "  ",
            &["PID", "START-END", "PROT", "DUMPED", "FILE"],
            &rows,
        );
    }
    section(&mut out, "Open files and sockets", r.fds.is_empty());
    // A snapshot's targets are the kernel's `socket:[N]`: add what its net tables say.
    let sockets: BTreeMap<(u32, u32), &super::report::Socket> =
        r.sockets.iter().map(|k| ((k.pid, k.fd), k)).collect();
    let rows: Vec<Vec<String>> = r
        .fds
        .iter()
        .map(|f| {
            let mut target = s(&f.target);
            if let Some(k) = sockets
                .get(&(f.pid, f.fd))
                .filter(|_| r.kind == Kind::Snapshot)
            {
                target.push_str(&format!(" {} {}", s(&k.proto), s(&k.local)));
                if let Some(remote) = &k.remote {
                    target.push_str(&format!(" -> {}", s(remote)));
                }
                if let Some(state) = &k.state {
                    target.push_str(&format!(" {}", s(state)));
                }
            }
            vec![f.pid.to_string(), f.fd.to_string(), target]
        })
        .collect();
    if !rows.is_empty() {
        table(&mut out, "  ", &["PID", "FD", "TARGET"], &rows);
    }
    rootfs(&mut out, r);
    section(&mut out, "Mounts", r.mounts.is_empty());
    let rows: Vec<Vec<String>> = r
        .mounts
        .iter()
        .map(|m| vec![s(&m.destination), s(&m.fs_type), s(&m.source)])
        .collect();
    if !rows.is_empty() {
        table(&mut out, "  ", &["DESTINATION", "TYPE", "SOURCE"], &rows);
    }
    matches(&mut out, r);
    if let Some(kmsg) = &r.kmsg {
        section(&mut out, "Kernel log", kmsg.is_empty());
        for l in kmsg {
            let _ = writeln!(out, "  {}", s(l));
        }
    }
    if !r.absent.is_empty() {
        let _ = writeln!(out, "\nAbsent (optional): {}", s(&r.absent.join(", ")));
    }
    for w in &r.warnings {
        let _ = writeln!(out, "Warning: {}", s(w));
    }
    out
}

/// Microseconds as milliseconds.
fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn section(out: &mut String, title: &str, empty: bool) {
    let _ = writeln!(out, "\n{title}{}", if empty { ": none" } else { "" });
}

fn process_tree(out: &mut String, r: &Report) {
    section(out, "Process tree", r.processes.is_empty());
    let pids: HashSet<u32> = r.processes.iter().map(|p| p.pid).collect();
    let mut children: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (i, p) in r.processes.iter().enumerate() {
        if p.ppid != p.pid && pids.contains(&p.ppid) {
            children.entry(p.ppid).or_default().push(i);
        } else {
            roots.push(i);
        }
    }
    let mut seen = HashSet::new();
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&i| (i, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        let p = &r.processes[i];
        if !seen.insert(p.pid) {
            continue;
        }
        let branch = if depth == 0 {
            String::new()
        } else {
            // A hostile tree can be 400,000 deep: the indent stops growing (depth shown).
            match depth {
                ..=MAX_INDENT => format!("{}└─ ", "   ".repeat(depth - 1)),
                _ => format!("{}└─({depth}) ", "   ".repeat(MAX_INDENT - 1)),
            }
        };
        let mut line = format!("  {branch}{} {}", p.pid, opt(&p.comm));
        if let Some(state) = p.state.as_deref().filter(|st| *st != "Alive") {
            line.push_str(&format!(" ({})", s(state)));
        }
        if let Some(exe) = &p.exe {
            line.push_str(&format!("  exe {}", s(exe)));
        }
        if let Some(uid) = p.uid {
            line.push_str(&format!("  uid {uid}"));
        }
        out.push_str(&line);
        out.push('\n');
        for &child in children.get(&p.pid).into_iter().flatten().rev() {
            stack.push((child, depth + 1));
        }
    }
}

fn rootfs(out: &mut String, r: &Report) {
    let title = match r.sizes.rootfs_diff {
        Some(size) => format!(
            "Rootfs changes (rootfs-diff.tar, {}, {} entries)",
            human_bytes(size),
            r.rootfs_diff_total
        ),
        None => "Rootfs changes (no rootfs-diff.tar)".to_string(),
    };
    let _ = writeln!(out, "\n{title}");
    for p in &r.rootfs_diff {
        let _ = writeln!(out, "  {}", s(p));
    }
    for p in &r.deleted_files {
        let _ = writeln!(out, "  deleted: {}", s(p));
    }
}

/// Deepest indent of the process tree (deeper levels are numbered instead).
const MAX_INDENT: usize = 16;

fn matches(out: &mut String, r: &Report) {
    let (Some(g), Some(list)) = (&r.grep, &r.matches) else {
        return;
    };
    let _ = writeln!(
        out,
        "\nMatches for \"{}\": {} in {} memory images ({} scanned)",
        s(&g.text),
        g.total,
        g.images,
        human_bytes(g.bytes_scanned)
    );
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|m| {
            vec![
                s(&m.file),
                m.offset.to_string(),
                m.pid.map_or_else(|| "-".into(), |p| p.to_string()),
                m.address.as_deref().map_or_else(|| "-".into(), s),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(out, "  ", &["FILE", "OFFSET", "PID", "ADDRESS"], &rows);
    }
}
