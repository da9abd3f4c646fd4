//! Uploading a bundle from the command line: after `ktui export --s3 URI`, or later with
//! `ktui upload BUNDLE --s3 URI` (the retry a failed upload points at: it sends the bundle
//! already on disk, a re-export would make a new one). Progress on stderr (a bar on a
//! terminal, a line per 10% otherwise); the upload, or its failure, recorded in the case's
//! custody. The local bundle is never touched.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use super::s3::{self, BundleFiles, KeyOf, S3Target, StoreChecksum, UploadOptions, Uploaded};
use crate::case::{Action, ArtifactRef, Case, Entry, Target};

/// The `--s3-*` flags, as given.
#[derive(Debug, Clone)]
pub struct S3Request {
    pub uri: String,
    pub endpoint: Option<String>,
    pub verify: bool,
    pub object_lock_days: Option<u32>,
}

impl S3Request {
    pub fn from_flags(uri: &str, flags: &crate::cli::S3Flags) -> Self {
        S3Request {
            uri: uri.to_string(),
            endpoint: flags.s3_endpoint.clone(),
            verify: flags.s3_verify,
            object_lock_days: flags.s3_object_lock_days,
        }
    }

    /// The `ktui upload` command that sends `bundle` again with these flags.
    pub fn retry_command(&self, bundle: &Path, case: Option<&str>, of: KeyOf<'_>) -> String {
        let mut cmd = format!("ktui upload {}", shell_quote(&bundle.display().to_string()));
        if let Some(id) = case {
            cmd.push_str(&format!(" --case {}", shell_quote(id)));
        }
        if let KeyOf::Pod { namespace, pod } = of {
            cmd.push_str(&format!(
                " --pod {}",
                shell_quote(&format!("{namespace}/{pod}"))
            ));
        }
        cmd.push_str(&format!(" --s3 {}", shell_quote(&self.uri)));
        if let Some(e) = &self.endpoint {
            cmd.push_str(&format!(" --s3-endpoint {}", shell_quote(e)));
        }
        if self.verify {
            cmd.push_str(" --s3-verify");
        }
        if let Some(n) = self.object_lock_days {
            cmd.push_str(&format!(" --s3-object-lock-days {n}"));
        }
        cmd
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=@+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The UTC stamp a bundle's name ends with (`…-yyyymmddThhmmssZ.tar.gz`), and the name before it.
pub fn split_name(archive: &Path) -> Option<(String, String)> {
    let name = archive.file_name()?.to_str()?.strip_suffix(".tar.gz")?;
    let (stem, stamp) = name.rsplit_once('-')?;
    let b = stamp.as_bytes();
    let ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    ok.then(|| (stem.to_string(), stamp.to_string()))
}

/// Upload `archive` (and its side files) as `of`, telling `progress` (bytes sent, of total),
/// and record the outcome in `case` (when given). Ok: the upload, printed on stdout. Err: the message to print, which
/// says what failed, that the bundle is kept, and how to retry.
pub async fn upload_bundle(
    case: Option<&Case>,
    custody_target: Target,
    archive: &Path,
    req: &S3Request,
    of: KeyOf<'_>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Uploaded, String> {
    let retry = req.retry_command(archive, case.map(Case::id), of);
    let fail = |what: String| {
        format!(
            "{what}; the bundle is kept at {}; retry with `{retry}`",
            archive.display()
        )
    };
    let target = S3Target::parse(&req.uri).map_err(|e| e.to_string())?;
    let Some((_, stamp)) = split_name(archive) else {
        return Err(format!(
            "{} is not named like a ktui bundle (NAME-yyyymmddThhmmssZ.tar.gz)",
            archive.display()
        ));
    };
    let key_dir = s3::key_dir(&target, of, &stamp);
    let opts = UploadOptions::new(req.endpoint.clone(), req.verify, req.object_lock_days);
    let files = BundleFiles::beside(archive);
    let result = s3::upload(&target, &files, &key_dir, &opts, progress).await;
    match result {
        Ok(done) => {
            if let Some(case) = case {
                let sha = done.sha256.clone();
                let line = Entry::ok(
                    Action::Upload,
                    custody_target,
                    vec![ArtifactRef {
                        path: done.archive_uri.clone(),
                        sha256: sha,
                    }],
                );
                if let Err(e) = case.record(&line) {
                    return Err(format!(
                        "the bundle is uploaded to {} but the custody line could not be written: {e}",
                        done.archive_uri
                    ));
                }
            }
            Ok(done)
        }
        Err(e) => {
            let name = archive
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let msg = fail(format!("upload of {name} to {target} failed: {e}"));
            if let Some(case) = case {
                let line = Entry {
                    action: Action::Upload,
                    target: custody_target,
                    outcome: Err(e.to_string()),
                    artifacts: Vec::new(),
                };
                if let Err(c) = case.record(&line) {
                    return Err(format!("{msg} (and the custody line failed too: {c})"));
                }
            }
            Err(msg)
        }
    }
}

/// [`upload_bundle`] for the commands: the progress on stderr.
pub async fn upload_with_bar(
    case: Option<&Case>,
    custody_target: Target,
    archive: &Path,
    req: &S3Request,
    of: KeyOf<'_>,
) -> Result<Uploaded, String> {
    let mut bar = Progress::new(std::io::stderr().is_terminal());
    let result = upload_bundle(
        case,
        custody_target,
        archive,
        req,
        of,
        &mut |sent, total| bar.show(sent, total),
    )
    .await;
    bar.end();
    result
}

/// What `ktui export` and `ktui upload` print for a done upload (stdout).
pub fn describe(done: &Uploaded) -> String {
    let mut out = format!("{}\n", crate::sanitize::line(&done.archive_uri));
    let how = if done.parts == 0 {
        "one PUT".to_string()
    } else {
        format!("{} parts", done.parts)
    };
    out.push_str(&format!(
        "  uploaded {} bytes ({how}) to {}\n",
        done.bytes,
        crate::sanitize::line(&done.endpoint)
    ));
    match &done.store_checksum {
        StoreChecksum::Matched(c) => out.push_str(&format!(
            "  store checksum sha256 {} matches the parts sent\n",
            crate::sanitize::line(c)
        )),
        StoreChecksum::NotReported => out
            .push_str("  the store reports no checksum for it (use --s3-verify to read it back)\n"),
    }
    if done.verified {
        out.push_str(&format!(
            "  read back: sha256 {} as in .sha256\n",
            done.sha256
        ));
    }
    if let Some((until, how)) = &done.retention {
        let how = match how {
            s3::Retention::WithUpload => "",
            s3::Retention::SetAfter => " (set after the upload: the store ignored it on upload)",
        };
        out.push_str(&format!("  COMPLIANCE retention until {until}{how}\n"));
    }
    out.push_str(&format!(
        "  also {}",
        done.objects[1..]
            .iter()
            .map(|o| crate::sanitize::line(o).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

/// `ktui upload BUNDLE --s3 URI [...]`: 0 uploaded, 1 error (the bundle stays as it is).
pub async fn upload_cmd(
    args: &crate::cli::UploadArgs,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> u8 {
    let say = |text: &str| eprintln!("ktui upload: {}", crate::sanitize::line(text));
    let archive = &args.bundle;
    if !archive.is_file() {
        say(&format!("there is no bundle at {}", archive.display()));
        return 1;
    }
    let req = S3Request::from_flags(&args.s3, &args.flags);
    if let Err(e) = S3Target::parse(&req.uri) {
        say(&e.to_string());
        return 1;
    }
    let files = BundleFiles::beside(archive);
    let bundle_case = case_of_bundle(&files.minisig);
    let id = case_id.map(str::to_string).or(bundle_case.clone());
    let case = match &id {
        Some(id) => open_existing(cases_dir, id, &say),
        None => None,
    };
    if case.is_none() {
        say(
            "no custody line will be recorded (the bundle's case is not in the cases directory; --case ID names it)",
        );
    }
    let pod = match args.pod.as_deref().map(|p| p.split_once('/')) {
        Some(Some((ns, pod))) if !ns.is_empty() && !pod.is_empty() && !pod.contains('/') => {
            Some((ns.to_string(), pod.to_string()))
        }
        Some(_) => {
            say("--pod takes NAMESPACE/POD");
            return 1;
        }
        None => None,
    };
    let stem = split_name(archive).map(|(stem, _)| stem);
    let (of, target) = match (&pod, &bundle_case) {
        (Some((ns, p)), _) => (
            KeyOf::Pod {
                namespace: ns,
                pod: p,
            },
            Target::pod(ns, p, None),
        ),
        (None, Some(cid)) if stem.as_deref() == Some(cid.as_str()) => {
            (KeyOf::Case(cid), Target::Case)
        }
        _ => {
            say(&format!(
                "{} is not a whole-case bundle of a case ktui can name: for a pod's bundle give --pod NAMESPACE/POD (the keys are <prefix>/<namespace>/<pod>/<UTC>/)",
                archive.display()
            ));
            return 1;
        }
    };
    match upload_with_bar(case.as_ref(), target, archive, &req, of).await {
        Ok(done) => {
            println!("{}", describe(&done));
            0
        }
        Err(msg) => {
            say(&msg);
            1
        }
    }
}

/// The case id a bundle's signature names (`trusted comment: ktui case=<id> …`).
fn case_of_bundle(minisig: &Path) -> Option<String> {
    let text = std::fs::read_to_string(minisig).ok()?;
    let comment = text
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))?;
    comment
        .split_whitespace()
        .find_map(|w| w.strip_prefix("case="))
        .map(str::to_string)
}

fn open_existing(cases_dir: Option<&Path>, id: &str, say: &dyn Fn(&str)) -> Option<Case> {
    let dir: PathBuf = crate::case::cases_dir(cases_dir);
    if !dir.join(id).join("case.json").is_file() {
        return None;
    }
    match Case::open(&dir, Some(id), &crate::case::CaseConfig::new("", "")) {
        Ok(c) => Some(c),
        Err(e) => {
            say(&format!("cannot record the upload in case {id}: {e}"));
            None
        }
    }
}

/// Upload progress on stderr.
struct Progress {
    tty: bool,
    /// Last tenth printed (plain lines) or last percent drawn (bar).
    last: Option<u64>,
}

impl Progress {
    fn new(tty: bool) -> Self {
        Progress { tty, last: None }
    }

    fn show(&mut self, sent: u64, total: u64) {
        let pct = (sent.saturating_mul(100)).checked_div(total).unwrap_or(100);
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        let mut err = std::io::stderr().lock();
        if self.tty {
            if self.last == Some(pct) {
                return;
            }
            self.last = Some(pct);
            let filled = usize::try_from(pct / 5).unwrap_or(20);
            let _ = write!(
                err,
                "\rupload [{}{}] {pct:>3}% {:.1}/{:.1} MiB",
                "#".repeat(filled),
                " ".repeat(20 - filled.min(20)),
                mib(sent),
                mib(total)
            );
            let _ = err.flush();
        } else {
            let tenth = pct / 10;
            if self.last.is_some_and(|l| l >= tenth) {
                return;
            }
            self.last = Some(tenth);
            let _ = writeln!(
                err,
                "upload: {pct}% ({:.1} of {:.1} MiB)",
                mib(sent),
                mib(total)
            );
        }
    }

    fn end(&mut self) {
        if self.tty && self.last.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_split_into_stem_and_stamp() {
        let (stem, stamp) =
            split_name(Path::new("/x/ktui-shop-web-0-20240102T030405Z.tar.gz")).unwrap();
        assert_eq!(stem, "ktui-shop-web-0");
        assert_eq!(stamp, "20240102T030405Z");
        assert!(split_name(Path::new("/x/case-2024.tar.gz")).is_none());
        assert!(split_name(Path::new("/x/case-20240102T030405Z.zip")).is_none());
    }

    #[test]
    fn the_retry_command_sends_the_same_bundle_again() {
        let req = S3Request {
            uri: "s3://b/p".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            verify: true,
            object_lock_days: Some(7),
        };
        assert_eq!(
            req.retry_command(
                Path::new("/c/inc 1/bundles/x-20240102T030405Z.tar.gz"),
                Some("inc1"),
                KeyOf::Pod {
                    namespace: "shop",
                    pod: "web-0"
                }
            ),
            "ktui upload '/c/inc 1/bundles/x-20240102T030405Z.tar.gz' --case inc1 --pod shop/web-0 --s3 s3://b/p --s3-endpoint http://127.0.0.1:9000 --s3-verify --s3-object-lock-days 7"
        );
    }
}
