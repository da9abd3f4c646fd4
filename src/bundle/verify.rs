//! `ktui verify`: everything a third party can check about a bundle, in one read of the archive —
//! its `.sha256`, its minisign signature (and that the trusted comment names this archive), every
//! member against `SHA256SUMS` and `manifest.json`, no member missing or extra, and the custody
//! chain. The same checks `minisign -Vm`, `sha256sum -c` and a reader of custody.jsonl make.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::sign::{Prehasher, PublicKey, Verified};

/// What a good bundle shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub archive_sha256: String,
    pub trusted_comment: String,
    pub key_id: String,
    /// Members checked against SHA256SUMS (SHA256SUMS itself aside).
    pub members: usize,
    pub custody_lines: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: io::Error },
    #[error("{path} is not `<sha256 hex>  <archive name>`")]
    BadSha256File { path: PathBuf },
    #[error(
        "the archive's SHA-256 is {actual}, its .sha256 file says {expected}: the archive changed"
    )]
    Sha256Mismatch { expected: String, actual: String },
    #[error("signature: {0}")]
    Signature(#[from] crate::sign::SignError),
    #[error("the signature's trusted comment does not name this archive's SHA-256 ({comment})")]
    CommentNamesOtherArchive { comment: String },
    #[error("the archive is not a readable tar.gz: {0}")]
    Archive(io::Error),
    #[error("member {0:?} is outside the bundle's directory or not a plain file")]
    StrayMember(String),
    #[error("member {0} appears twice")]
    Duplicate(String),
    #[error("the bundle has no {0}")]
    Missing(&'static str),
    #[error("{path}: SHA-256 is {actual}, SHA256SUMS says {expected}")]
    MemberChanged {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{0} is listed in SHA256SUMS but missing from the archive")]
    MemberMissing(String),
    #[error("{0} is in the archive but not in SHA256SUMS (added after the bundle was made)")]
    MemberExtra(String),
    #[error("SHA256SUMS line {line} is not `<hex>  <path>`")]
    BadSums { line: usize },
    #[error("manifest.json: {0}")]
    Manifest(String),
    #[error("custody.jsonl line {line}: {why}")]
    Custody { line: usize, why: String },
}

/// `ktui verify BUNDLE [--pubkey FILE]`: 0 and `OK` when every check passes, 1 naming the first
/// that fails.
pub fn verify_cmd(args: &crate::cli::VerifyArgs) -> u8 {
    let (path, said) = match &args.pubkey {
        Some(p) => (p.clone(), None),
        None => match crate::sign::default_public_key_path() {
            Ok(p) => {
                let note = format!(
                    "ktui verify: no --pubkey, using the default public key {}",
                    p.display()
                );
                (p, Some(note))
            }
            Err(e) => {
                eprintln!("ktui verify: no --pubkey given and no default key: {e}");
                return 1;
            }
        },
    };
    if let Some(note) = said {
        eprintln!("{}", crate::sanitize::line(&note));
    }
    let key = match crate::sign::load_public_key(&path) {
        Ok(k) => k,
        Err(e) => {
            eprintln!(
                "ktui verify: {} (pass the signer's key with --pubkey FILE)",
                crate::sanitize::line(&e.to_string())
            );
            return 1;
        }
    };
    match verify(&args.bundle, &key) {
        Ok(r) => {
            println!(
                "OK {}
  sha256 {}
  signed by key {}: {}
  {} members match SHA256SUMS and manifest.json; custody chain of {} lines intact",
                crate::sanitize::line(&args.bundle.display().to_string()),
                r.archive_sha256,
                r.key_id,
                crate::sanitize::line(&r.trusted_comment),
                r.members,
                r.custody_lines
            );
            0
        }
        Err(e) => {
            eprintln!(
                "ktui verify: FAILED: {}",
                crate::sanitize::line(&e.to_string())
            );
            1
        }
    }
}

/// Check `bundle` (a `NAME.tar.gz` with its `.minisig` and `.sha256` beside it) with `key`.
pub fn verify(bundle: &Path, key: &PublicKey) -> Result<Report, VerifyError> {
    let sibling = |ext: &str| PathBuf::from(format!("{}.{ext}", bundle.display()));
    let read_text = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|cause| VerifyError::Read { path, cause })
    };
    let sig_text = read_text(sibling("minisig"))?;
    let sha_path = sibling("sha256");
    let sha_text = read_text(sha_path.clone())?;
    let expected = sha_text
        .split_whitespace()
        .next()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(VerifyError::BadSha256File { path: sha_path })?
        .to_ascii_lowercase();
    let file = File::open(bundle).map_err(|cause| VerifyError::Read {
        path: bundle.to_path_buf(),
        cause,
    })?;
    let mut raw = Hashed {
        inner: file,
        sha256: Sha256::new(),
        prehash: Prehasher::new(),
    };
    let read = read_members(&mut raw)?;
    // What follows the tar's end (padding, the last gzip trailer) is part of what was signed.
    io::copy(&mut raw, &mut io::sink()).map_err(VerifyError::Archive)?;
    let actual = hex::encode(raw.sha256.finalize());
    if actual != expected {
        return Err(VerifyError::Sha256Mismatch { expected, actual });
    }
    let Verified {
        trusted_comment,
        key_id,
    } = crate::sign::verify(key, raw.prehash.finalize(), &sig_text)?;
    if !trusted_comment.contains(&format!("sha256={actual}")) {
        return Err(VerifyError::CommentNamesOtherArchive {
            comment: crate::sanitize::line(&trusted_comment).into_owned(),
        });
    }
    let members = check_sums(&read)?;
    check_manifest(&read)?;
    let custody_lines = check_custody(&read)?;
    Ok(Report {
        archive_sha256: actual,
        trusted_comment,
        key_id: key_id.to_string(),
        members,
        custody_lines,
    })
}

/// The members as read: SHA-256 and size by path (relative to `NAME/`), and the small files
/// the checks read.
struct Members {
    hashes: BTreeMap<String, (String, u64)>,
    sums: Option<Vec<u8>>,
    manifest: Option<Vec<u8>>,
    custody: Option<Vec<u8>>,
}

/// The small members kept in memory for their checks (the rest is only hashed).
const KEPT: [&str; 3] = ["SHA256SUMS", "manifest.json", "custody.jsonl"];

fn read_members(raw: &mut impl Read) -> Result<Members, VerifyError> {
    let gz = flate2::read::MultiGzDecoder::new(raw);
    let mut tar = tar::Archive::new(gz);
    let mut out = Members {
        hashes: BTreeMap::new(),
        sums: None,
        manifest: None,
        custody: None,
    };
    let mut root: Option<String> = None;
    for entry in tar.entries().map_err(VerifyError::Archive)? {
        let mut entry = entry.map_err(VerifyError::Archive)?;
        let path = entry
            .path()
            .map_err(VerifyError::Archive)?
            .display()
            .to_string();
        let plain = entry.header().entry_type().is_file()
            && Path::new(&path)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        let Some((top, rel)) = path.split_once('/').filter(|_| plain) else {
            return Err(VerifyError::StrayMember(
                crate::sanitize::line(&path).into_owned(),
            ));
        };
        if root.get_or_insert_with(|| top.to_string()) != top || rel.is_empty() {
            return Err(VerifyError::StrayMember(
                crate::sanitize::line(&path).into_owned(),
            ));
        }
        let rel = rel.to_string();
        let mut sha = Sha256::new();
        let mut kept = KEPT.contains(&rel.as_str()).then(Vec::new);
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(VerifyError::Archive)?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
            size += n as u64;
            if let Some(k) = kept.as_mut() {
                k.extend_from_slice(&buf[..n]);
            }
        }
        if out
            .hashes
            .insert(rel.clone(), (hex::encode(sha.finalize()), size))
            .is_some()
        {
            return Err(VerifyError::Duplicate(
                crate::sanitize::line(&rel).into_owned(),
            ));
        }
        match rel.as_str() {
            "SHA256SUMS" => out.sums = kept,
            "manifest.json" => out.manifest = kept,
            "custody.jsonl" => out.custody = kept,
            _ => {}
        }
    }
    Ok(out)
}

fn check_sums(read: &Members) -> Result<usize, VerifyError> {
    let sums = read
        .sums
        .as_ref()
        .ok_or(VerifyError::Missing("SHA256SUMS"))?;
    let text = String::from_utf8_lossy(sums);
    let mut listed = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let (hex, path) = line
            .split_once("  ")
            .filter(|(h, p)| h.len() == 64 && !p.is_empty())
            .ok_or(VerifyError::BadSums { line: i + 1 })?;
        listed.insert(path.to_string(), hex.to_ascii_lowercase());
    }
    for (path, expected) in &listed {
        let shown = crate::sanitize::line(path).into_owned();
        let Some((actual, _)) = read.hashes.get(path) else {
            return Err(VerifyError::MemberMissing(shown));
        };
        if actual != expected {
            return Err(VerifyError::MemberChanged {
                path: shown,
                expected: expected.clone(),
                actual: actual.clone(),
            });
        }
    }
    if let Some(extra) = read
        .hashes
        .keys()
        .find(|p| p.as_str() != "SHA256SUMS" && !listed.contains_key(*p))
    {
        return Err(VerifyError::MemberExtra(
            crate::sanitize::line(extra).into_owned(),
        ));
    }
    Ok(listed.len())
}

/// Every artifact manifest.json lists is a member of that size and SHA-256.
fn check_manifest(read: &Members) -> Result<(), VerifyError> {
    let bytes = read
        .manifest
        .as_ref()
        .ok_or(VerifyError::Missing("manifest.json"))?;
    let manifest: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| VerifyError::Manifest(format!("not JSON: {e}")))?;
    let artifacts = manifest
        .get("artifacts")
        .and_then(|a| a.as_array())
        .ok_or_else(|| VerifyError::Manifest("no `artifacts` list".to_string()))?;
    for a in artifacts {
        let field = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        let path = field("path");
        let shown = crate::sanitize::line(path).into_owned();
        let Some((sha, size)) = read.hashes.get(path) else {
            return Err(VerifyError::Manifest(format!(
                "artifact {shown} is not in the archive"
            )));
        };
        if !field("sha256").eq_ignore_ascii_case(sha)
            || a.get("size").and_then(serde_json::Value::as_u64) != Some(*size)
        {
            return Err(VerifyError::Manifest(format!(
                "artifact {shown}: size or SHA-256 differ from the member's"
            )));
        }
    }
    Ok(())
}

/// The custody chain (`case::verify_chain`: key order, `seq`, each `prev` the SHA-256 of the
/// line before), and every artifact of the archive named by some line.
fn check_custody(read: &Members) -> Result<usize, VerifyError> {
    let bytes = read
        .custody
        .as_ref()
        .ok_or(VerifyError::Missing("custody.jsonl"))?;
    let n = crate::case::verify_chain(bytes.as_slice()).map_err(|e| VerifyError::Custody {
        line: e.line,
        why: e.kind.to_string(),
    })?;
    let mut named = std::collections::BTreeSet::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
        for a in v
            .get("artifacts")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(p) = a.get("path").and_then(|p| p.as_str()) {
                named.insert(p.to_string());
            }
        }
    }
    if let Some(unrecorded) = read
        .hashes
        .keys()
        .filter(|p| p.starts_with("artifacts/"))
        .find(|p| !named.contains(*p))
    {
        return Err(VerifyError::Custody {
            line: n,
            why: format!(
                "artifact {} appears in no custody line",
                crate::sanitize::line(unrecorded)
            ),
        });
    }
    Ok(n)
}

/// Reads the archive's raw bytes through, hashing them both ways.
struct Hashed<R> {
    inner: R,
    sha256: Sha256,
    prehash: Prehasher,
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha256.update(&buf[..n]);
        self.prehash.update(&buf[..n]);
        Ok(n)
    }
}
