//! After an object is stored: its size and the checksum the store computed from what it
//! received (for a multipart object a checksum of the parts' checksums, never the `.sha256`),
//! the retention when object lock was asked for, and with `--s3-verify` the whole object read
//! back, streamed, and its SHA-256 compared with the bundle's.

use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{
    ChecksumMode, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
};
use sha2::{Digest, Sha256};

use super::S3Error;
use super::client::{Store, chain};
use super::put::{Object, Stored, request_err};

/// What the store said about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChecksum {
    /// The store's checksum equals the one computed here.
    Matched(String),
    /// The store keeps no checksum for it (some S3-compatible stores do not): only
    /// `--s3-verify` can check it.
    NotReported,
}

/// Size and checksum as the store reports them (HeadObject with checksum mode).
pub(super) async fn stored(obj: &Object<'_>, put: &Stored) -> Result<StoreChecksum, S3Error> {
    let head = head(obj).await?;
    let actual = u64::try_from(head.content_length().unwrap_or(-1)).unwrap_or(u64::MAX);
    if actual != put.size {
        return Err(S3Error::SizeMismatch {
            object: obj.uri.to_string(),
            endpoint: obj.store.endpoint.clone(),
            expected: put.size,
            actual,
        });
    }
    match head.checksum_sha256() {
        None => Ok(StoreChecksum::NotReported),
        Some(c) if same_checksum(c, &put.checksum) => Ok(StoreChecksum::Matched(c.to_string())),
        Some(c) => Err(S3Error::ChecksumMismatch {
            object: obj.uri.to_string(),
            endpoint: obj.store.endpoint.clone(),
            expected: put.checksum.clone(),
            actual: c.to_string(),
        }),
    }
}

/// A composite checksum is `<base64>-<parts>` (HeadObject on AWS); some stores leave the
/// `-<parts>` off. The base must match, and the count when there is one.
fn same_checksum(store: &str, ours: &str) -> bool {
    let split = |c: &str| match c.rsplit_once('-') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (base.to_string(), Some(n.to_string()))
        }
        _ => (c.to_string(), None),
    };
    let ((sb, sn), (ob, on)) = (split(store), split(ours));
    sb == ob && (sn.is_none() || sn == on)
}

async fn head(
    obj: &Object<'_>,
) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput, S3Error> {
    obj.store
        .client
        .head_object()
        .bucket(obj.bucket)
        .key(obj.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|e| request_err(obj, "HeadObject", &e))
}

/// How the retention got there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Set with the upload itself.
    WithUpload,
    /// The store ignored the upload's lock headers (some do for multipart uploads); set
    /// afterwards with PutObjectRetention.
    SetAfter,
}

/// Before anything is sent: a bucket that says it has no object lock cannot take retention.
/// A store that will not say (no permission to read the configuration) is given the benefit of
/// the doubt: the uploads themselves then fail if it cannot lock.
pub(super) async fn bucket_can_lock(store: &Store, bucket: &str) -> Result<(), S3Error> {
    use aws_sdk_s3::error::ProvideErrorMetadata as _;
    let got = store
        .client
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await;
    let enabled = match got {
        Ok(got) => got
            .object_lock_configuration()
            .and_then(|c| c.object_lock_enabled())
            .is_some_and(|e| *e == aws_sdk_s3::types::ObjectLockEnabled::Enabled),
        // What S3 answers for a bucket created without object lock.
        Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => false,
        Err(_) => return Ok(()),
    };
    if enabled {
        Ok(())
    } else {
        Err(S3Error::NoObjectLock {
            bucket: bucket.to_string(),
            endpoint: store.endpoint.clone(),
        })
    }
}

/// Make sure `obj` is under COMPLIANCE retention until `until`: as uploaded, else set now.
pub(super) async fn retention(obj: &Object<'_>, until: DateTime) -> Result<Retention, S3Error> {
    if locked_until(obj, until).await?.is_ok() {
        return Ok(Retention::WithUpload);
    }
    obj.store
        .client
        .put_object_retention()
        .bucket(obj.bucket)
        .key(obj.key)
        .retention(
            ObjectLockRetention::builder()
                .mode(ObjectLockRetentionMode::Compliance)
                .retain_until_date(until)
                .build(),
        )
        .send()
        .await
        .map_err(|e| request_err(obj, "PutObjectRetention", &e))?;
    match locked_until(obj, until).await? {
        Ok(()) => Ok(Retention::SetAfter),
        Err(got) => Err(S3Error::RetentionNotSet {
            object: obj.uri.to_string(),
            endpoint: obj.store.endpoint.clone(),
            until: fmt_date(until),
            got,
        }),
    }
}

/// Ok when the object is locked in COMPLIANCE mode until `until` or later; else what it has.
async fn locked_until(obj: &Object<'_>, until: DateTime) -> Result<Result<(), String>, S3Error> {
    let head = head(obj).await?;
    let mode = head.object_lock_mode();
    let date = head.object_lock_retain_until_date();
    match (mode, date) {
        (Some(ObjectLockMode::Compliance), Some(d)) if d.secs() >= until.secs() => Ok(Ok(())),
        (None, None) => Ok(Err("no retention".to_string())),
        (m, d) => Ok(Err(format!(
            "mode {}, until {}",
            m.map_or("none", ObjectLockMode::as_str),
            d.map_or_else(|| "none".to_string(), |d| fmt_date(*d))
        ))),
    }
}

pub(super) fn fmt_date(d: DateTime) -> String {
    d.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| d.secs().to_string())
}

/// Read the whole object back (streamed: memory stays bounded) and compare its SHA-256.
pub(super) async fn read_back(obj: &Object<'_>, expect_hex: &str) -> Result<(), S3Error> {
    let got = obj
        .store
        .client
        .get_object()
        .bucket(obj.bucket)
        .key(obj.key)
        .send()
        .await
        .map_err(|e| request_err(obj, "GetObject", &e))?;
    let mut body = got.body;
    let mut sha = Sha256::new();
    loop {
        match body.try_next().await {
            Ok(Some(chunk)) => sha.update(&chunk),
            Ok(None) => break,
            Err(e) => {
                return Err(S3Error::Request {
                    op: "GetObject",
                    object: obj.uri.to_string(),
                    endpoint: obj.store.endpoint.clone(),
                    cause: chain(&e),
                });
            }
        }
    }
    let actual = hex::encode(sha.finalize());
    if actual.eq_ignore_ascii_case(expect_hex) {
        Ok(())
    } else {
        Err(S3Error::VerifyMismatch {
            object: obj.uri.to_string(),
            endpoint: obj.store.endpoint.clone(),
            expected: expect_hex.to_string(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::same_checksum;

    #[test]
    fn composite_checksums_compare_with_or_without_the_part_count() {
        assert!(same_checksum("abc=-3", "abc=-3"));
        assert!(same_checksum("abc=", "abc=-3"));
        assert!(same_checksum("abc=", "abc="));
        assert!(!same_checksum("abc=-2", "abc=-3"));
        assert!(!same_checksum("abd=-3", "abc=-3"));
        assert!(!same_checksum("abc=-3", "abc="));
    }
}
