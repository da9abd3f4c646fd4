//! Why an archive cannot be inspected: each cause names the archive (and member) and says what
//! to do. Member names come from the archive: the command sanitises the message before printing.

use std::io;

use super::criu::ImageError;
use super::tar::TarError;

pub type Result<T, E = InspectError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot open {archive}: {source} (check the path and that you may read it)")]
    Open {
        archive: String,
        #[source]
        source: io::Error,
    },

    #[error(
        "{archive} is not a tar archive: {source} (a checkpoint is a .tar as the kubelet, CRI-O, Podman or ktui write it, or a .tar.gz)"
    )]
    NotTar { archive: String, source: TarError },

    #[error(
        "{archive} is truncated or corrupt: {source}; copy it off the node again and check its \
         SHA-256 against the one recorded when it was taken"
    )]
    Truncated { archive: String, source: TarError },

    #[error("{archive} cannot be read safely: {source}; do not extract it")]
    Unsafe { archive: String, source: TarError },

    #[error("{archive}: {source}")]
    Tar { archive: String, source: TarError },

    #[error(
        "{archive} is {format}-compressed, which ktui does not read: decompress it first \
         ({hint}) and inspect the .tar"
    )]
    Compressed {
        archive: String,
        format: &'static str,
        hint: &'static str,
    },

    #[error(
        "{member} in {archive} declares {declared} bytes; a {what} is at most {cap} bytes here: \
         the archive is corrupt or was not written by a checkpoint tool"
    )]
    TooLarge {
        archive: String,
        member: String,
        what: &'static str,
        declared: u64,
        cap: u64,
    },

    #[error(
        "the CRIU metadata images in {archive} exceed {cap} bytes together (ktui keeps them in \
         memory to resolve processes, files and pages): the archive is corrupt or hostile"
    )]
    MetadataBudget { archive: String, cap: u64 },

    #[error(
        "the CRIU images in {archive} describe more than {cap} processes, mappings, pagemap \
         entries, descriptors and files together: the archive is corrupt or hostile"
    )]
    TooManyItems { archive: String, cap: u64 },

    #[error("{member} in {archive} is not a valid CRIU image: {source}")]
    Image {
        archive: String,
        member: String,
        source: ImageError,
    },

    #[error("{member} in {archive} is not valid JSON of the expected shape: {source}")]
    Json {
        archive: String,
        member: String,
        source: serde_json::Error,
    },

    #[error("{member} in {archive} is not a valid tar: {source}")]
    Nested {
        archive: String,
        member: String,
        source: TarError,
    },

    #[error(
        "{archive} has no config.dump: it is not a complete CRIU checkpoint (the kubelet, CRI-O \
         and Podman always write one next to checkpoint/); checkpoint the container again"
    )]
    MissingConfig { archive: String },

    #[error(
        "{archive} is not a checkpoint: it has neither config.dump (a CRIU checkpoint) nor \
         snapshot.json (a ktui live snapshot)"
    )]
    NotACheckpoint { archive: String },

    #[error(
        "{archive} is an incomplete live snapshot: {why}; take the snapshot again (a cut \
         snapshot is restarted whole)"
    )]
    SnapshotIncomplete { archive: String, why: String },

    #[error("--grep: {0}")]
    BadGrep(String),
}

impl InspectError {
    /// Sorts a tar failure into the cause a user acts on.
    pub fn from_tar(archive: &str, source: TarError, first_header: bool) -> Self {
        let archive = archive.to_string();
        match source {
            TarError::BadHeader { .. } if first_header => Self::NotTar { archive, source },
            TarError::Truncated { .. }
            | TarError::TruncatedHeader { .. }
            | TarError::TruncatedPadding { .. }
            | TarError::SizeBeyondEnd { .. }
            | TarError::BadHeader { .. } => Self::Truncated { archive, source },
            TarError::UnsafeName { .. } | TarError::ExtensionTooLarge { .. } => {
                Self::Unsafe { archive, source }
            }
            TarError::Io { .. } | TarError::Sparse { .. } => Self::Tar { archive, source },
        }
    }
}
