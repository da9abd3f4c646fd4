//! `ktui case list` and `ktui case show ID`: read-only views of the cases on disk. They take no
//! lock (a case in use can be looked at) and print every string read from a case through
//! [`crate::sanitize`].

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;
use unicode_width::UnicodeWidthStr as _;

use super::custody::{self, Record};
use super::error::{CaseError, human_bytes};
use super::index::{self, IndexEntry};
use super::meta::{self, CaseMeta};
use super::{BUNDLES_DIR, fsx};
use crate::cli::{CaseArgs, CaseCommand};
use crate::sanitize;

/// Run `ktui case ...`; returns the exit code (1: an error, or `show` found a broken chain).
pub fn run(args: &CaseArgs, cases_dir: Option<&Path>, case: Option<&str>) -> u8 {
    let dir = meta::cases_dir(cases_dir);
    let out = match &args.command {
        CaseCommand::List { json } => list(&dir, *json).map(|text| (text, 0)),
        CaseCommand::Show { id } => match id.as_deref().or(case) {
            Some(id) => show(&dir, id),
            None => {
                eprintln!("ktui: name the case: ktui case show ID (`ktui case list` shows them)");
                return 2;
            }
        },
    };
    match out {
        Ok((text, code)) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Ok(()) => code,
                Err(_) => 1,
            }
        }
        Err(e) => {
            eprintln!("ktui: {}", sanitize::line(&e.to_string()));
            1
        }
    }
}

/// One row of `ktui case list` (also its `--json` line).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: String,
    pub created: String,
    pub context: String,
    pub size: u64,
    pub artifacts: usize,
    pub last_action: Option<String>,
    pub last_action_at: Option<String>,
}

pub fn summaries(dir: &Path) -> Vec<Summary> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut cases: Vec<(CaseMeta, Summary)> = Vec::new();
    for entry in entries.flatten() {
        let case_dir = entry.path();
        let case_json = case_dir.join(meta::CASE_FILE);
        if !case_json.is_file() {
            continue;
        }
        let meta = match meta::read_meta(&case_json) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("ktui: skipping {}", sanitize::line(&e.to_string()));
                continue;
            }
        };
        let artifacts = index::read_lines(&case_dir.join(index::INDEX_FILE))
            .map(|l| index::resolve(l).len())
            .unwrap_or(0);
        let last = last_record(&case_dir);
        let summary = Summary {
            id: meta.case_id.clone(),
            created: fsx::rfc3339_ns(meta.created),
            context: meta.context.clone(),
            size: fsx::dir_size(&case_dir, &[BUNDLES_DIR]).unwrap_or(0),
            artifacts,
            last_action: last.as_ref().map(|r| r.action.clone()),
            last_action_at: last.as_ref().map(|r| fsx::rfc3339_ns(r.ts)),
        };
        cases.push((meta, summary));
    }
    cases.sort_by(|a, b| (a.0.created, &a.0.case_id).cmp(&(b.0.created, &b.0.case_id)));
    cases.into_iter().map(|(_, s)| s).collect()
}

fn last_record(case_dir: &Path) -> Option<Record> {
    let mut file = std::fs::File::open(case_dir.join(custody::CUSTODY_FILE)).ok()?;
    let line = fsx::tail(&mut file).ok()?.last_line?;
    serde_json::from_slice(&line).ok()
}

fn list(dir: &Path, json: bool) -> Result<String, CaseError> {
    let cases = summaries(dir);
    if json {
        let mut out = String::new();
        for s in &cases {
            if let Ok(line) = sanitize::json::to_string(s) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        return Ok(out);
    }
    let rows = cases
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                short_time(&s.created),
                s.context.clone(),
                human_bytes(s.size),
                s.artifacts.to_string(),
                match (&s.last_action, &s.last_action_at) {
                    (Some(a), Some(t)) => format!("{a} {}", short_time(t)),
                    _ => "-".to_string(),
                },
            ]
        })
        .collect();
    let headers = [
        "ID",
        "CREATED",
        "CONTEXT",
        "SIZE",
        "ARTIFACTS",
        "LAST ACTION",
    ];
    let mut out = table(&headers, rows);
    if cases.is_empty() {
        out.push_str(&format!(
            "(no cases in {})\n",
            sanitize::line(&dir.display().to_string())
        ));
    }
    Ok(out)
}

fn show(dir: &Path, id: &str) -> Result<(String, u8), CaseError> {
    meta::validate_id(id)?;
    let case_dir = dir.join(id);
    let case_json = case_dir.join(meta::CASE_FILE);
    if !case_json.is_file() {
        return Err(CaseError::NoSuchCase {
            id: id.to_string(),
            dir: dir.to_path_buf(),
        });
    }
    let m = meta::read_meta(&case_json)?;
    let s = |t: &str| sanitize::line(t).into_owned();
    let c = &m.collector;
    let mut out = format!(
        "case      {}\ncreated   {} (ktui {})\ncontext   {} ({}){}\ncollector {}@{} kube user {}\n",
        s(&m.case_id),
        fsx::rfc3339_ns(m.created),
        s(&m.ktui_version),
        s(&m.context),
        s(&m.server),
        if m.demo { " DEMO" } else { "" },
        s(&c.local_user),
        s(&c.host),
        s(c.kube_user.as_deref().unwrap_or("-")),
    );
    out.push_str(&format!(
        "clock     local {}, API server {}, offset {}\nsize      {}\n",
        fsx::rfc3339_ns(m.clock.local),
        m.clock.api_server_date.map_or("-".into(), fsx::rfc3339_ns),
        m.clock.offset_ms.map_or("-".into(), |o| format!("{o} ms")),
        human_bytes(fsx::dir_size(&case_dir, &[BUNDLES_DIR]).unwrap_or(0)),
    ));
    let entries = index::resolve(index::read_lines(&case_dir.join(index::INDEX_FILE))?);
    out.push_str(&format!("\nINDEX ({} artifacts)\n", entries.len()));
    out.push_str(&index_table(&entries));
    let custody_path = case_dir.join(custody::CUSTODY_FILE);
    let text = std::fs::read(&custody_path)
        .map_err(|e| CaseError::io("read", &case_dir, &custody_path, e))?;
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    out.push_str(&format!("\nCUSTODY ({} lines)\n", lines.len()));
    out.push_str(&custody_table(&lines));
    let code = match custody::verify_chain(text.as_slice()) {
        Ok(n) => {
            out.push_str(&format!("\ncustody chain: OK ({n} lines)\n"));
            0
        }
        Err(e) => {
            out.push_str(&format!("\ncustody chain: BROKEN: {}\n", s(&e.to_string())));
            1
        }
    };
    Ok((out, code))
}

fn index_table(entries: &[IndexEntry]) -> String {
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                e.path.clone(),
                human_bytes(e.size),
                if e.sealed { "yes" } else { "open" }.to_string(),
                short_time(&fsx::rfc3339_ns(e.captured_at)),
                e.source.clone(),
                e.sha256.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    table(
        &["PATH", "SIZE", "SEALED", "CAPTURED", "SOURCE", "SHA256"],
        rows,
    )
}

fn custody_table(lines: &[&[u8]]) -> String {
    let rows = lines
        .iter()
        .enumerate()
        .map(|(i, line)| match serde_json::from_slice::<Record>(line) {
            Ok(r) => vec![
                r.seq.to_string(),
                short_time(&fsx::rfc3339_ns(r.ts)),
                r.action,
                r.target,
                r.result,
                r.artifacts
                    .iter()
                    .map(|a| a.path.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                r.error.unwrap_or_default(),
            ],
            Err(e) => vec![
                "?".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("line {} is not a custody line: {e}", i + 1),
            ],
        })
        .collect();
    let headers = [
        "SEQ",
        "TS",
        "ACTION",
        "TARGET",
        "RESULT",
        "ARTIFACTS",
        "ERROR",
    ];
    table(&headers, rows)
}

/// `2024-05-01T12:00:00.123456789Z` → `2024-05-01 12:00:00Z`.
fn short_time(t: &str) -> String {
    match t.split_once('.') {
        Some((secs, _)) => format!("{}Z", secs.replacen('T', " ", 1)),
        None => t.replacen('T', " ", 1),
    }
}

/// Columns padded to their widest cell; every cell sanitised; the last column unpadded.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| sanitize::line(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                out.extend(std::iter::repeat_n(' ', widths[i] - cell.width() + 2));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_neutralise_escapes() {
        let t = table(&["A", "B"], vec![vec!["x\u{1b}[31m".into(), "y".into()]]);
        assert!(!t.contains('\u{1b}'), "{t:?}");
        assert_eq!(t, "A       B\nx␛[31m  y\n");
    }

    #[test]
    fn short_times_drop_the_fraction() {
        assert_eq!(
            short_time("2024-05-01T12:00:00.123456789Z"),
            "2024-05-01 12:00:00Z"
        );
    }
}
