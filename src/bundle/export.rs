//! `ktui export`: package a case into `NAME.tar.gz` + `.sha256` + `.minisig` (the pinned bundle
//! format), written under `.partial` names and renamed only when all three are complete, so an
//! interrupted export leaves nothing that verifies. The export is recorded in the case's custody.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::bundle::{Content, Entry};
use crate::case::{ArtifactRef, Case, IndexEntry, Target};

/// What an export produced.
#[derive(Debug, Clone)]
pub struct Exported {
    pub bundle: PathBuf,
    pub sha256: String,
    pub key_id: String,
    /// Said once, when the signing key was created by this export.
    pub key_notice: Option<String>,
    /// Artifacts left out, with why (an open stream segment, …).
    pub unavailable: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Case(#[from] crate::case::CaseError),
    #[error("{0}")]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("signing: {0}")]
    Sign(#[from] crate::sign::SignError),
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// The case's own files a bundle carries besides its artifacts (never `secrets.key`, the lock,
/// `bundles/` or `.partial` files).
const CASE_FILES: [&str; 4] = ["case.json", "custody.jsonl", "notes.md", "index.jsonl"];

/// Package the whole of `case` into `out` (default: the case's `bundles/`), signed with the key
/// `sign_key` names (else `KTUI_SIGNING_KEY`, else the config dir's, created when missing).
pub fn export_case(
    case: &Case,
    out: Option<&Path>,
    sign_key: Option<&Path>,
    now: jiff::Timestamp,
) -> Result<Exported, ExportError> {
    let (key, source) = crate::sign::signing_key(sign_key)?;
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    let name = format!("{}-{stamp}", case.id());
    let out = out.map_or_else(|| case.dir().join("bundles"), Path::to_path_buf);
    std::fs::create_dir_all(&out).map_err(|cause| ExportError::Write {
        path: out.clone(),
        cause,
    })?;

    // The last index line of a path is its current state (a segment sealed later wins).
    let mut latest: std::collections::BTreeMap<String, IndexEntry> = Default::default();
    for e in case.index()? {
        latest.insert(e.path.clone(), e);
    }
    let mut unavailable = Vec::new();
    let mut artifacts = Vec::new();
    for e in latest.into_values() {
        match (&e.sha256, e.sealed) {
            (Some(_), true) => artifacts.push(e),
            _ => unavailable.push((
                e.path.clone(),
                "a stream segment still open (sealed at the next open of the case)".to_string(),
            )),
        }
    }
    let manifest = manifest(case, &artifacts, &unavailable);
    let mut entries: Vec<Entry> = artifacts
        .iter()
        .map(|a| Entry {
            path: a.path.clone(),
            content: Content::File {
                file: case.dir().join(&a.path),
                expect_sha256: a.sha256.clone(),
            },
        })
        .collect();
    for f in CASE_FILES {
        if case.dir().join(f).is_file() {
            entries.push(Entry {
                path: f.to_string(),
                content: Content::File {
                    file: case.dir().join(f),
                    expect_sha256: None,
                },
            });
        }
    }
    entries.push(Entry {
        path: "manifest.json".to_string(),
        content: Content::Bytes(manifest),
    });

    let final_path = out.join(format!("{name}.tar.gz"));
    let partial = |p: &Path| PathBuf::from(format!("{}.partial", p.display()));
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| ExportError::Write { path, cause }
    };
    let archive_partial = partial(&final_path);
    let file = std::fs::File::create(&archive_partial).map_err(write_err(&archive_partial))?;
    let mut prehash = crate::sign::Prehasher::new();
    let written = crate::bundle::write(
        std::io::BufWriter::with_capacity(1 << 20, &file),
        &name,
        entries,
        u64::try_from(now.as_second()).unwrap_or(0),
        &mut |b| prehash.update(b),
    );
    let archive = match written {
        Ok(a) => a,
        Err(e) => {
            let _ = std::fs::remove_file(&archive_partial);
            return Err(e.into());
        }
    };
    file.sync_all().map_err(write_err(&archive_partial))?;
    let trusted = format!(
        "ktui case={} sha256={} created={}",
        case.id(),
        archive.sha256,
        now.strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    let sig = crate::sign::sign_prehashed(&key, prehash.finalize(), &trusted, "ktui bundle")?;
    let sha_path = PathBuf::from(format!("{}.sha256", final_path.display()));
    let sig_path = PathBuf::from(format!("{}.minisig", final_path.display()));
    for (path, text) in [
        (&sha_path, format!("{}  {name}.tar.gz\n", archive.sha256)),
        (&sig_path, sig),
    ] {
        let p = partial(path);
        let mut f = std::fs::File::create(&p).map_err(write_err(&p))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(write_err(&p))?;
    }
    // All three complete: now they take their names (the signature last).
    for path in [&final_path, &sha_path, &sig_path] {
        std::fs::rename(partial(path), path).map_err(write_err(path))?;
    }
    if let Ok(dir) = std::fs::File::open(&out) {
        let _ = dir.sync_all();
    }
    case.record(&crate::case::Entry::ok(
        crate::case::Action::Export,
        Target::Case,
        vec![ArtifactRef {
            path: final_path.display().to_string(),
            sha256: archive.sha256.clone(),
        }],
    ))?;
    let key_id = key.key_id();
    Ok(Exported {
        bundle: final_path,
        sha256: archive.sha256,
        key_id: key_id.to_string(),
        key_notice: source.notice(key_id),
        unavailable,
    })
}

/// `manifest.json` (pinned keys).
fn manifest(case: &Case, artifacts: &[IndexEntry], unavailable: &[(String, String)]) -> Vec<u8> {
    let m = case.meta();
    serde_json::to_vec_pretty(&serde_json::json!({
        "schema": 1,
        "ktui_version": env!("CARGO_PKG_VERSION"),
        "case_id": m.case_id,
        "created": m.created.to_string(),
        "context": m.context,
        "server": m.server,
        "collector": m.collector,
        "artifacts": artifacts.iter().map(|a| serde_json::json!({
            "path": a.path,
            "size": a.size,
            "sha256": a.sha256,
            "media_type": a.media_type,
            "source": a.source,
            "captured_at": a.captured_at.to_string(),
        })).collect::<Vec<_>>(),
        "unavailable": unavailable.iter().map(|(what, why)| serde_json::json!({
            "what": what, "why": why,
        })).collect::<Vec<_>>(),
    }))
    .unwrap_or_default()
}

/// `ktui export --case ID [--out DIR] [--sign-key PATH] [--s3 URI ...]`: 0 done (prints the
/// bundle, its SHA-256 and the key id, then the upload), 1 error (a failed upload keeps the
/// bundle and says how to retry it).
pub async fn export_cmd(
    args: &crate::cli::ExportArgs,
    cases_dir: Option<&Path>,
    case: Option<&str>,
) -> u8 {
    let say = |text: &str| eprintln!("ktui export: {}", crate::sanitize::line(text));
    let Some(id) = case else {
        say("name the case to package: --case ID (`ktui case list` shows them)");
        return 1;
    };
    // A bad target is refused before anything is packaged.
    let s3 = match args.s3.as_deref().map(|uri| {
        crate::bundle::s3::S3Target::parse(uri)
            .map(|_| crate::bundle::upload::S3Request::from_flags(uri, &args.s3_flags))
    }) {
        Some(Err(e)) => {
            say(&e.to_string());
            return 1;
        }
        Some(Ok(req)) => Some(req),
        None => None,
    };
    let dir = crate::case::cases_dir(cases_dir);
    if !dir.join(id).join("case.json").is_file() {
        say(&format!(
            "there is no case {id} in {} (`ktui case list` shows them)",
            dir.display()
        ));
        return 1;
    }
    // An existing case keeps what it recorded at creation; the config only fills a new one.
    let config = crate::case::CaseConfig::new("", "");
    let case = match Case::open(&dir, Some(id), &config) {
        Ok(c) => c,
        Err(e) => {
            say(&e.to_string());
            return 1;
        }
    };
    match export_case(
        &case,
        args.out.as_deref(),
        args.sign_key.as_deref(),
        jiff::Timestamp::now(),
    ) {
        Ok(done) => {
            if let Some(notice) = &done.key_notice {
                eprintln!("{}", crate::sanitize::line(notice));
            }
            for (what, why) in &done.unavailable {
                say(&format!("left out {what}: {why}"));
            }
            println!(
                "{}\n  sha256 {}\n  signed by key {}",
                crate::sanitize::line(&done.bundle.display().to_string()),
                done.sha256,
                done.key_id
            );
            let Some(req) = s3 else { return 0 };
            let of = crate::bundle::s3::KeyOf::Case(case.id());
            match crate::bundle::upload::upload_bundle(
                Some(&case),
                Target::Case,
                &done.bundle,
                &req,
                of,
            )
            .await
            {
                Ok(up) => {
                    println!("{}", crate::bundle::upload::describe(&up));
                    0
                }
                Err(msg) => {
                    say(&msg);
                    1
                }
            }
        }
        Err(e) => {
            say(&e.to_string());
            1
        }
    }
}
