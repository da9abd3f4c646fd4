//! `ktui export`: package a case into `NAME.tar.gz` + `.sha256` + `.minisig` (the pinned bundle
//! format), written under `.partial` names and renamed only when all three are complete, so an
//! interrupted export leaves nothing that verifies. The export is recorded in the case's custody.

mod confirm;
mod pod;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::bundle::{Content, Entry};
use crate::case::{ARTIFACTS_DIR, ArtifactRef, Case, IndexEntry, Target};

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
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Exported, ExportError> {
    let (artifacts, unavailable) = select(case, |_| true)?;
    let bundle = Selection {
        name: format!("{}-{}", case.id(), stamp(now)),
        artifacts,
        unavailable,
        target: Target::Case,
    };
    package(case, bundle, out, sign_key, now, progress)
}

/// Package one pod of `case`: its artifacts (`artifacts/<namespace>/<pod>/...`) and those of
/// its node (`artifacts/nodes/<node>/...`), with the case's own files (the whole custody chain
/// and index), into `ktui-<namespace>-<pod>-<UTC>.tar.gz`. What its collection asked for and
/// could not get is listed in `manifest.json` with what the case leaves out.
pub fn export_pod(
    case: &Case,
    collected: &crate::collect::Collected,
    out: Option<&Path>,
    sign_key: Option<&Path>,
    now: jiff::Timestamp,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Exported, ExportError> {
    let pod = &collected.pod;
    let pod_dir = format!("{ARTIFACTS_DIR}/{}/{}/", pod.namespace, pod.name);
    let node_dir = collected
        .node
        .as_ref()
        .map(|n| format!("{ARTIFACTS_DIR}/nodes/{n}/"));
    let (artifacts, mut left_out) = select(case, |path| {
        path.starts_with(&pod_dir) || node_dir.as_deref().is_some_and(|d| path.starts_with(d))
    })?;
    left_out.extend(
        collected
            .unavailable
            .iter()
            .map(|u| (u.what.clone(), u.why.clone())),
    );
    let bundle = Selection {
        name: format!("ktui-{}-{}-{}", pod.namespace, pod.name, stamp(now)),
        artifacts,
        unavailable: left_out,
        target: Target::pod(&pod.namespace, &pod.name, None),
    };
    package(case, bundle, out, sign_key, now, progress)
}

/// (what, why) of what a bundle leaves out.
type LeftOut = Vec<(String, String)>;

/// `yyyymmddThhmmssZ` (UTC), as bundle names carry it.
fn stamp(now: jiff::Timestamp) -> String {
    now.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// What one bundle holds.
struct Selection {
    /// `NAME` of `NAME.tar.gz` and of its top directory.
    name: String,
    artifacts: Vec<IndexEntry>,
    /// (what, why) for `manifest.json`'s `unavailable`.
    unavailable: Vec<(String, String)>,
    /// What the export's custody line names.
    target: Target,
}

/// The artifacts of `case` whose path `wanted` accepts, each as its last index line says
/// (a segment sealed later wins): the sealed ones, and the still-open stream segments as
/// left out, with why.
fn select(
    case: &Case,
    wanted: impl Fn(&str) -> bool,
) -> Result<(Vec<IndexEntry>, LeftOut), ExportError> {
    let mut latest: std::collections::BTreeMap<String, IndexEntry> = Default::default();
    for e in case.index()? {
        if wanted(&e.path) {
            latest.insert(e.path.clone(), e);
        }
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
    Ok((artifacts, unavailable))
}

/// Write `bundle` (the one writer of case and pod exports): the archive, its `.sha256` and
/// `.minisig` under `.partial` names, renamed when all three are complete; then the custody line.
/// `progress` hears (artifact bytes archived, of the total) as each artifact is done.
fn package(
    case: &Case,
    bundle: Selection,
    out: Option<&Path>,
    sign_key: Option<&Path>,
    now: jiff::Timestamp,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Exported, ExportError> {
    let (key, source) = crate::sign::signing_key(sign_key)?;
    let Selection {
        name,
        artifacts,
        unavailable,
        target,
    } = bundle;
    let out = out.map_or_else(|| case.dir().join("bundles"), Path::to_path_buf);
    std::fs::create_dir_all(&out).map_err(|cause| ExportError::Write {
        path: out.clone(),
        cause,
    })?;
    let manifest = manifest(case, &artifacts, &unavailable);
    let total: u64 = artifacts.iter().map(|a| a.size).sum();
    let sizes: Vec<u64> = artifacts.iter().map(|a| a.size).collect();
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
        {
            // Taking entry i means entry i - 1 is in the archive.
            let mut done = 0u64;
            entries.into_iter().enumerate().map(move |(i, e)| {
                if i > 0 {
                    done += sizes.get(i - 1).copied().unwrap_or(0);
                }
                progress(done.min(total), total);
                e
            })
        },
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
        target,
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

/// `ktui export [POD [-n NS]] [--case ID] [--out DIR] [--sign-key PATH] [--include-secrets]`:
/// with POD, collects the pod into the case (`--case`, else a new one) and packages that pod;
/// without, packages the whole case `--case` names. 0 done (prints the bundle, its SHA-256 and
/// the key id, then the upload with `--s3`), 1 error (a failed upload keeps the bundle and says
/// how to retry it), 3 no cluster reachable.
pub async fn export_cmd(
    args: &crate::cli::ExportArgs,
    conn: &crate::cli::ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case: Option<&str>,
) -> u8 {
    // A bad target is refused before anything is collected or packaged.
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
    let exported = match &args.pod {
        Some(pod) => pod::run(args, pod, conn, demo, cases_dir, case)
            .await
            .map(|(done, case, key)| (done, case, Some(key))),
        None => whole_case(args, cases_dir, case).map(|(done, case)| (done, case, None)),
    };
    let (done, case, pod) = match exported {
        Ok(done) => done,
        Err(code) => return code,
    };
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
    let (of, target) = match &pod {
        Some(k) => (
            crate::bundle::s3::KeyOf::Pod {
                namespace: &k.namespace,
                pod: &k.name,
            },
            Target::pod(&k.namespace, &k.name, None),
        ),
        None => (crate::bundle::s3::KeyOf::Case(case.id()), Target::Case),
    };
    match crate::bundle::upload::upload_with_bar(Some(&case), target, &done.bundle, &req, of).await
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

/// A line on stderr, sanitised.
fn say(text: &str) {
    eprintln!("ktui export: {}", crate::sanitize::line(text));
}

/// `ktui export --case ID`: the whole case (and the case, for the upload's custody line);
/// Err(exit code) once said why.
fn whole_case(
    args: &crate::cli::ExportArgs,
    cases_dir: Option<&Path>,
    case: Option<&str>,
) -> Result<(Exported, Case), u8> {
    let Some(id) = case else {
        say(
            "name the case to package (--case ID; `ktui case list` shows them) or a pod to collect and package (ktui export POD -n NS)",
        );
        return Err(1);
    };
    let dir = crate::case::cases_dir(cases_dir);
    if !dir.join(id).join("case.json").is_file() {
        say(&format!(
            "there is no case {id} in {} (`ktui case list` shows them)",
            dir.display()
        ));
        return Err(1);
    }
    // An existing case keeps what it recorded at creation; the config only fills a new one.
    let config = crate::case::CaseConfig::new("", "");
    let case = Case::open(&dir, Some(id), &config).map_err(|e| {
        say(&e.to_string());
        1u8
    })?;
    let mut bar = crate::progress::StderrProgress::new("packaging");
    export_case(
        &case,
        args.out.as_deref(),
        args.sign_key.as_deref(),
        jiff::Timestamp::now(),
        &mut |done, total| bar.update(done, total),
    )
    .map(|done| (done, case.clone()))
    .map_err(|e| {
        say(&e.to_string());
        1
    })
}
