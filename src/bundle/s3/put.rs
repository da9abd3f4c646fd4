//! Putting one file into the store: one PUT at or below the multipart threshold, else a
//! multipart upload. Either way the SHA-256 of what is sent is computed here and sent with it
//! (`x-amz-checksum-sha256`, per part for multipart: S3 checks each part on arrival), and the
//! whole file is hashed while read and compared with the bundle's `.sha256` before the object
//! is completed. Memory: one part buffer at a time. A failed multipart upload is aborted, so no
//! parts are left billed in the bucket.

use std::path::Path;

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectLockMode,
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt as _;

use super::S3Error;
use super::client::{Store, cause};

/// S3's limits: parts of at least 5 MiB (the last aside), at most 10,000 of them.
pub(super) const MIN_PART: u64 = 5 << 20;
const MAX_PARTS: u64 = 10_000;

/// One object to put.
pub(super) struct Object<'a> {
    pub store: &'a Store,
    pub bucket: &'a str,
    pub key: &'a str,
    /// `s3://bucket/key`, for messages.
    pub uri: &'a str,
    /// COMPLIANCE retention until then.
    pub lock_until: Option<DateTime>,
}

/// What was stored.
pub(super) struct Stored {
    pub size: u64,
    /// SHA-256 (hex) of the whole file, computed while it was read.
    pub sha256_hex: String,
    /// The checksum the store should report for the object: the base64 SHA-256 of the file,
    /// or for multipart the base64 SHA-256 of the parts' SHA-256s followed by `-<parts>`.
    pub checksum: String,
    /// Parts of a multipart upload (0: one PUT).
    pub parts: usize,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The part size for a file of `size` bytes: the threshold, raised so it needs at most 10,000.
pub(super) fn part_size(size: u64, threshold: u64) -> u64 {
    let threshold = threshold.max(MIN_PART);
    let needed = size.div_ceil(MAX_PARTS);
    // Whole MiB, as S3 tools do.
    threshold.max(needed.div_ceil(1 << 20) << 20)
}

/// Put `path` as `obj`; `expect_hex` (the bundle's `.sha256`) must match what was read.
pub(super) async fn put_file(
    obj: &Object<'_>,
    path: &Path,
    threshold: u64,
    expect_hex: Option<&str>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Stored, S3Error> {
    let read_err = |cause| S3Error::Read {
        path: path.to_path_buf(),
        cause,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(read_err)?;
    let size = file.metadata().await.map_err(read_err)?.len();
    let threshold = threshold.max(MIN_PART);
    if size <= threshold {
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.read_to_end(&mut buf).await.map_err(read_err)?;
        let digest = Sha256::digest(&buf);
        let sha256_hex = hex::encode(digest);
        check_local(path, expect_hex, &sha256_hex)?;
        let len = buf.len() as u64;
        progress(0, len);
        let mut req = obj
            .store
            .client
            .put_object()
            .bucket(obj.bucket)
            .key(obj.key)
            .content_length(i64::try_from(len).unwrap_or(i64::MAX))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(b64(&digest))
            .body(ByteStream::from(buf));
        if let Some(until) = obj.lock_until {
            req = req
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(until);
        }
        req.send()
            .await
            .map_err(|e| request_err(obj, "PutObject", &e))?;
        progress(len, len);
        return Ok(Stored {
            size: len,
            sha256_hex,
            checksum: b64(&digest),
            parts: 0,
        });
    }
    let mut create = obj
        .store
        .client
        .create_multipart_upload()
        .bucket(obj.bucket)
        .key(obj.key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256);
    if let Some(until) = obj.lock_until {
        create = create
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(until);
    }
    let created = create
        .send()
        .await
        .map_err(|e| request_err(obj, "CreateMultipartUpload", &e))?;
    let Some(upload_id) = created.upload_id().map(str::to_string) else {
        return Err(S3Error::Request {
            op: "CreateMultipartUpload",
            object: obj.uri.to_string(),
            endpoint: obj.store.endpoint.clone(),
            cause: "the store returned no upload id".to_string(),
        });
    };
    let parts = upload_parts(
        obj, &upload_id, &mut file, path, size, threshold, expect_hex, progress,
    )
    .await;
    match parts {
        Ok(stored) => Ok(stored),
        Err(e) => {
            // Best effort: the error that made us abort is the one to report.
            let aborted = obj
                .store
                .client
                .abort_multipart_upload()
                .bucket(obj.bucket)
                .key(obj.key)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(a) = aborted {
                tracing::warn!(
                    "aborting the multipart upload of {} failed: {}",
                    obj.uri,
                    cause(&a)
                );
            }
            Err(e)
        }
    }
}

/// The parts of an open multipart upload, then its completion.
#[allow(clippy::too_many_arguments)]
async fn upload_parts(
    obj: &Object<'_>,
    upload_id: &str,
    file: &mut tokio::fs::File,
    path: &Path,
    size: u64,
    threshold: u64,
    expect_hex: Option<&str>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Stored, S3Error> {
    let part_len = part_size(size, threshold);
    let cap = usize::try_from(part_len).unwrap_or(usize::MAX);
    let mut whole = Sha256::new();
    let mut of_parts = Sha256::new();
    let mut completed = Vec::new();
    let mut sent = 0u64;
    progress(0, size);
    for number in 1i32.. {
        let mut buf = Vec::with_capacity(cap);
        (&mut *file)
            .take(part_len)
            .read_to_end(&mut buf)
            .await
            .map_err(|cause| S3Error::Read {
                path: path.to_path_buf(),
                cause,
            })?;
        if buf.is_empty() {
            break;
        }
        whole.update(&buf);
        let digest = Sha256::digest(&buf);
        of_parts.update(digest);
        let len = buf.len() as u64;
        let part = obj
            .store
            .client
            .upload_part()
            .bucket(obj.bucket)
            .key(obj.key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(i64::try_from(len).unwrap_or(i64::MAX))
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(b64(&digest))
            .body(ByteStream::from(buf))
            .send()
            .await
            .map_err(|e| request_err(obj, "UploadPart", &e))?;
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_string))
                .checksum_sha256(b64(&digest))
                .build(),
        );
        sent += len;
        progress(sent, size);
        if len < part_len {
            break;
        }
    }
    let sha256_hex = hex::encode(whole.finalize());
    check_local(path, expect_hex, &sha256_hex)?;
    if sent != size {
        return Err(S3Error::Read {
            path: path.to_path_buf(),
            cause: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("it changed size from {size} to {sent} bytes while read"),
            ),
        });
    }
    let count = completed.len();
    obj.store
        .client
        .complete_multipart_upload()
        .bucket(obj.bucket)
        .key(obj.key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .map_err(|e| request_err(obj, "CompleteMultipartUpload", &e))?;
    Ok(Stored {
        size,
        sha256_hex,
        checksum: format!("{}-{count}", b64(&of_parts.finalize())),
        parts: count,
    })
}

fn check_local(path: &Path, expect_hex: Option<&str>, actual: &str) -> Result<(), S3Error> {
    match expect_hex {
        Some(expected) if !expected.eq_ignore_ascii_case(actual) => Err(S3Error::LocalChanged {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        }),
        _ => Ok(()),
    }
}

pub(super) fn request_err<E>(
    obj: &Object<'_>,
    op: &'static str,
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> S3Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    S3Error::Request {
        op,
        object: obj.uri.to_string(),
        endpoint: obj.store.endpoint.clone(),
        cause: cause(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_stay_within_the_limits() {
        assert_eq!(part_size(1 << 30, 8 << 20), 8 << 20);
        // Below S3's minimum, the threshold is raised to it.
        assert_eq!(part_size(20 << 20, 1 << 20), MIN_PART);
        // 200 GiB needs bigger parts than 8 MiB to fit in 10,000.
        let big = 200u64 << 30;
        let p = part_size(big, 8 << 20);
        assert!(big.div_ceil(p) <= MAX_PARTS, "{p}");
        assert_eq!(p % (1 << 20), 0);
    }
}
