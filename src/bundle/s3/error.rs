//! What an upload can fail on. Every message names the object and the store; none carries a
//! credential (the SDK's error chain names requests and causes, never keys or secrets).

use std::path::PathBuf;

/// Why an S3 upload failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{uri:?} is not an S3 target: {why} (example: s3://evidence-bucket/incidents)")]
    BadUri { uri: String, why: &'static str },
    #[error("--s3-endpoint {endpoint:?} is not an http:// or https:// URL")]
    BadEndpoint { endpoint: String },
    #[error(
        "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or `region` in the profile, or give --s3-endpoint for an S3-compatible store"
    )]
    NoRegion,
    #[error("cannot read {path} to upload it: {cause}")]
    Read {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error("{path} has no SHA-256 in its .sha256 file ({sha_file}): is it a ktui bundle?")]
    NoLocalHash { path: PathBuf, sha_file: PathBuf },
    #[error(
        "{path} no longer matches its .sha256 (read {actual}, recorded {expected}): the bundle changed on disk, nothing was kept in the store"
    )]
    LocalChanged {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A request to the store failed (after the SDK's retries).
    #[error("{op} of {object} failed at {endpoint}: {cause}")]
    Request {
        op: &'static str,
        object: String,
        endpoint: String,
        cause: String,
    },
    #[error(
        "{object} was stored but its checksum at {endpoint} is {actual}, not {expected} (computed here from the parts): the copy in the store is not the bundle"
    )]
    ChecksumMismatch {
        object: String,
        endpoint: String,
        expected: String,
        actual: String,
    },
    #[error("{object} holds {actual} bytes at {endpoint}, the bundle {expected}")]
    SizeMismatch {
        object: String,
        endpoint: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "{object} read back from {endpoint} has SHA-256 {actual}, the bundle's .sha256 says {expected}"
    )]
    VerifyMismatch {
        object: String,
        endpoint: String,
        expected: String,
        actual: String,
    },
    #[error(
        "bucket {bucket} at {endpoint} does not have object lock enabled, so --s3-object-lock-days cannot lock anything: use a bucket created with object lock, or drop the flag"
    )]
    NoObjectLock { bucket: String, endpoint: String },
    #[error(
        "{object} has no COMPLIANCE retention until {until} at {endpoint} (the store reports {got}): is object lock enabled on the bucket?"
    )]
    RetentionNotSet {
        object: String,
        endpoint: String,
        until: String,
        got: String,
    },
}

impl S3Error {
    /// The store could not be reached at all (connection refused, DNS, timeout): worth saying
    /// "retry when it is back".
    pub fn unreachable(&self) -> bool {
        match self {
            S3Error::Request { cause, .. } => {
                let c = cause.to_ascii_lowercase();
                ["dispatch failure", "connect", "timeout", "timed out", "dns"]
                    .iter()
                    .any(|w| c.contains(w))
            }
            _ => false,
        }
    }
}
