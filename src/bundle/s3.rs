//! S3 upload of an evidence bundle: `NAME.tar.gz`, `.sha256` and `.minisig` under
//! `<prefix>/<namespace>/<pod>/<UTC yyyymmddThhmmssZ>/` (a whole-case bundle under
//! `<prefix>/<case id>/<UTC …>/`), the layout the crash forensics controller uses.
//!
//! The only module that imports aws-sdk-s3 / aws-config (a CI grep keeps it so). The SDK runs
//! on the ring rustls provider the process installs (`crate::tls`), never a second one.
//! The archive goes up in one PUT below the multipart threshold (default 8 MiB), else in parts
//! with a SHA-256 per part computed here; afterwards the store's checksum is compared with the
//! one computed here, and `--s3-verify` reads the object back.

mod check;
mod client;
mod error;
mod put;

use std::path::{Path, PathBuf};

pub use check::{Retention, StoreChecksum};
pub use error::S3Error;

/// Multipart above this many bytes (and parts of this size) unless
/// `KTUI_S3_MULTIPART_THRESHOLD` (bytes, at least 5 MiB) says otherwise.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 8 << 20;

/// `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    pub bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl S3Target {
    pub fn parse(uri: &str) -> Result<S3Target, S3Error> {
        let bad = |why| S3Error::BadUri {
            uri: uri.to_string(),
            why,
        };
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("it names no bucket"));
        }
        // S3 bucket names: 3-63 of lower-case letters, digits, dots and hyphens.
        if !(3..=63).contains(&bucket.len())
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(bad(
                "the bucket name is not 3-63 lower-case letters, digits, dots or hyphens",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
            return Err(bad("the prefix has an empty, . or .. component"));
        }
        Ok(S3Target {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// `s3://bucket/key`.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl std::fmt::Display for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// What a bundle is about, for its key: a pod, or a whole case.
#[derive(Debug, Clone, Copy)]
pub enum KeyOf<'a> {
    Pod { namespace: &'a str, pod: &'a str },
    Case(&'a str),
}

/// The bundle's "directory" in the bucket: `<prefix>/<namespace>/<pod>/<stamp>` or
/// `<prefix>/<case id>/<stamp>` (`stamp`: UTC `yyyymmddThhmmssZ`, the bundle's own).
pub fn key_dir(target: &S3Target, of: KeyOf<'_>, stamp: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if !target.prefix.is_empty() {
        parts.push(&target.prefix);
    }
    match of {
        KeyOf::Pod { namespace, pod } => parts.extend([namespace, pod]),
        KeyOf::Case(id) => parts.push(id),
    }
    parts.push(stamp);
    parts.join("/")
}

/// A bundle's three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFiles {
    pub archive: PathBuf,
    pub sha256: PathBuf,
    pub minisig: PathBuf,
}

impl BundleFiles {
    /// `NAME.tar.gz` and its `.sha256` and `.minisig` beside it.
    pub fn beside(archive: &Path) -> BundleFiles {
        let with = |ext: &str| PathBuf::from(format!("{}.{ext}", archive.display()));
        BundleFiles {
            archive: archive.to_path_buf(),
            sha256: with("sha256"),
            minisig: with("minisig"),
        }
    }
}

/// How to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOptions {
    /// An S3-compatible store's URL (path-style addressing); None: AWS.
    pub endpoint: Option<String>,
    /// Read the archive back and compare its SHA-256 with the `.sha256`.
    pub verify: bool,
    /// COMPLIANCE retention for this many days from now.
    pub object_lock_days: Option<u32>,
    pub multipart_threshold: u64,
}

impl UploadOptions {
    /// The threshold from `KTUI_S3_MULTIPART_THRESHOLD` (bytes) when set, else the default.
    pub fn new(endpoint: Option<String>, verify: bool, object_lock_days: Option<u32>) -> Self {
        let multipart_threshold = std::env::var("KTUI_S3_MULTIPART_THRESHOLD")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_MULTIPART_THRESHOLD)
            .max(put::MIN_PART);
        UploadOptions {
            endpoint,
            verify,
            object_lock_days,
            multipart_threshold,
        }
    }
}

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// `s3://bucket/<key dir>/NAME.tar.gz`.
    pub archive_uri: String,
    /// The archive, its `.sha256` and `.minisig`, as `s3://` URIs.
    pub objects: Vec<String>,
    /// SHA-256 (hex) of the archive, as its `.sha256` says and as read while uploading.
    pub sha256: String,
    pub bytes: u64,
    /// Parts of the archive's multipart upload (0: one PUT).
    pub parts: usize,
    /// The archive's checksum at the store (`<base64>-<parts>` for multipart).
    pub store_checksum: StoreChecksum,
    /// Read back and compared (`--s3-verify`).
    pub verified: bool,
    /// The retention set, when object lock was asked for: until when (RFC 3339), and how.
    pub retention: Option<(String, Retention)>,
    /// Where the requests went.
    pub endpoint: String,
}

/// The hex SHA-256 a `.sha256` file names (`<hex>  NAME.tar.gz`).
fn read_sha256_file(files: &BundleFiles) -> Result<String, S3Error> {
    let text = std::fs::read_to_string(&files.sha256).map_err(|cause| S3Error::Read {
        path: files.sha256.clone(),
        cause,
    })?;
    text.split_whitespace()
        .next()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| S3Error::NoLocalHash {
            path: files.archive.clone(),
            sha_file: files.sha256.clone(),
        })
}

/// Upload `files` under `key_dir` (see [`key_dir`]): the archive (multipart above the
/// threshold), then its `.sha256`, then its `.minisig`; then check each against the store and,
/// with `opts.verify`, read the archive back. `progress(sent, total)` follows the archive's
/// bytes. Nothing local is changed or removed, whatever happens.
pub async fn upload(
    target: &S3Target,
    files: &BundleFiles,
    key_dir: &str,
    opts: &UploadOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Uploaded, S3Error> {
    let expect = read_sha256_file(files)?;
    let store = client::connect(opts.endpoint.as_deref()).await?;
    let lock_until = opts.object_lock_days.map(|days| {
        let secs = jiff::Timestamp::now().as_second() + i64::from(days) * 86_400;
        aws_sdk_s3::primitives::DateTime::from_secs(secs)
    });
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let keys: Vec<String> = [&files.archive, &files.sha256, &files.minisig]
        .iter()
        .map(|p| format!("{}/{}", key_dir.trim_matches('/'), name(p)))
        .collect();
    let uris: Vec<String> = keys.iter().map(|k| target.uri(k)).collect();
    let object = |i: usize| put::Object {
        store: &store,
        bucket: &target.bucket,
        key: &keys[i],
        uri: &uris[i],
        lock_until,
    };

    if lock_until.is_some() {
        check::bucket_can_lock(&store, &target.bucket).await?;
    }
    let archive = object(0);
    let stored = put::put_file(
        &archive,
        &files.archive,
        opts.multipart_threshold,
        Some(&expect),
        progress,
    )
    .await?;
    let mut side = Vec::new();
    for (i, path) in [(1, &files.sha256), (2, &files.minisig)] {
        // Small files: one PUT each, whatever the threshold.
        let obj = object(i);
        side.push(put::put_file(&obj, path, u64::MAX, None, &mut |_, _| {}).await?);
    }

    let store_checksum = check::stored(&archive, &stored).await?;
    for (i, s) in side.iter().enumerate() {
        check::stored(&object(i + 1), s).await?;
    }
    let retention = match lock_until {
        None => None,
        Some(until) => {
            let how = check::retention(&archive, until).await?;
            for i in 1..3 {
                check::retention(&object(i), until).await?;
            }
            Some((check::fmt_date(until), how))
        }
    };
    if opts.verify {
        check::read_back(&archive, &expect).await?;
    }
    Ok(Uploaded {
        archive_uri: uris[0].clone(),
        objects: uris,
        sha256: stored.sha256_hex,
        bytes: stored.size,
        parts: stored.parts,
        store_checksum,
        verified: opts.verify,
        retention,
        endpoint: store.endpoint.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_refuse_what_is_not_one() {
        let t = S3Target::parse("s3://evidence/incidents/2024/").unwrap();
        assert_eq!(t.bucket, "evidence");
        assert_eq!(t.prefix, "incidents/2024");
        assert_eq!(t.to_string(), "s3://evidence/incidents/2024");
        let bare = S3Target::parse("s3://evidence").unwrap();
        assert_eq!(bare.prefix, "");
        for bad in [
            "evidence/x",
            "s3://",
            "s3:///x",
            "s3://Bad_Bucket/x",
            "s3://ok-b/a/../b",
        ] {
            assert!(S3Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_dirs_follow_the_layout() {
        let t = S3Target::parse("s3://bkt/p/q").unwrap();
        let stamp = "20240102T030405Z";
        assert_eq!(
            key_dir(
                &t,
                KeyOf::Pod {
                    namespace: "shop",
                    pod: "web-0"
                },
                stamp
            ),
            "p/q/shop/web-0/20240102T030405Z"
        );
        let bare = S3Target::parse("s3://bkt").unwrap();
        assert_eq!(
            key_dir(&bare, KeyOf::Case("inc-1"), stamp),
            "inc-1/20240102T030405Z"
        );
    }
}
