//! The `.partial` file on a blocking thread: it hashes what is already on disk (a resumed
//! transfer), then appends and hashes the content the receiver hands it, and fsyncs at the end.
//! Hashing and writing run beside the network reads, on the other core.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, oneshot};

/// Batches in flight between the receiver and the writer thread (each up to [`BATCH`]).
const DEPTH: usize = 8;
/// Bytes the receiver gathers before handing them over. Buffers go back to the receiver once
/// written: a fresh 1 MiB allocation per batch, freed on the other thread, halved the writer's
/// throughput on the development VM (page faults on every new mapping).
pub const BATCH: usize = 256 * 1024;
/// Bytes per read when hashing the prefix on disk.
const PREFIX_READ: usize = 1 << 20;

/// What the writer thread ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file's length now.
    pub len: u64,
    /// SHA-256 (hex) of the whole file.
    pub sha256: String,
}

/// A local file failure: what was being done to which file.
#[derive(Debug)]
pub struct SinkError {
    pub doing: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

/// The writer thread's inbox.
pub struct Sink {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    /// Written buffers, for reuse.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    done: tokio::task::JoinHandle<Result<Written, SinkError>>,
    /// The file's length when it was opened: where the transfer resumes.
    pub start: u64,
}

/// Files are private to the investigator (as the case's are).
const FILE_MODE: u32 = 0o600;

impl Sink {
    /// Open `path` (created 0600): `resume` keeps and hashes what is there; otherwise it is
    /// emptied. `limit`: the most bytes the file may reach.
    pub async fn open(path: &Path, resume: bool, limit: Option<u64>) -> Result<Sink, SinkError> {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(DEPTH);
        let (start_tx, start_rx) = oneshot::channel();
        let (spare_tx, spare) = std::sync::mpsc::channel::<Vec<u8>>();
        let path = path.to_path_buf();
        let done = tokio::task::spawn_blocking(move || {
            let fail = |doing, source| SinkError {
                doing,
                path: path.clone(),
                source,
            };
            let opened = open_file(&path, resume).map_err(|e| fail("open", e));
            let (mut file, start) = match opened {
                Ok(f) => f,
                Err(e) => {
                    let _ = start_tx.send(None);
                    return Err(e);
                }
            };
            // The length is known at once; the receiver execs while the prefix is hashed.
            let _ = start_tx.send(Some(start));
            let mut hasher = Sha256::new();
            hash_prefix(&mut file, start, &mut hasher).map_err(|e| fail("read", e))?;
            let mut len = start;
            while let Some(batch) = rx.blocking_recv() {
                if limit.is_some_and(|l| len + batch.len() as u64 > l) {
                    return Err(fail(
                        "write",
                        io::Error::new(io::ErrorKind::QuotaExceeded, "no room left for it"),
                    ));
                }
                file.write_all(&batch).map_err(|e| fail("write", e))?;
                hasher.update(&batch);
                len += batch.len() as u64;
                let _ = spare_tx.send(batch);
            }
            file.sync_all().map_err(|e| fail("sync", e))?;
            Ok(Written {
                len,
                sha256: hex::encode(hasher.finalize()),
            })
        });
        match start_rx.await {
            Ok(Some(start)) => Ok(Sink {
                tx: Some(tx),
                spare,
                done,
                start,
            }),
            _ => match done.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(_)) | Err(_) => Err(SinkError {
                    doing: "open",
                    path: PathBuf::new(),
                    source: io::Error::other("the writer thread stopped"),
                }),
            },
        }
    }

    /// An empty buffer of [`BATCH`] capacity (a written one when there is one).
    pub fn buffer(&self) -> Vec<u8> {
        match self.spare.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Vec::with_capacity(BATCH),
        }
    }

    /// Hand a batch to the writer. `false`: the writer stopped (its error comes from
    /// [`Sink::finish`]).
    pub async fn write(&mut self, batch: Vec<u8>) -> bool {
        match &self.tx {
            Some(tx) => tx.send(batch).await.is_ok(),
            None => false,
        }
    }

    /// Everything handed over is written and fsynced: the file's length and hash.
    pub async fn finish(mut self) -> Result<Written, SinkError> {
        self.tx = None;
        match self.done.await {
            Ok(r) => r,
            Err(e) => Err(SinkError {
                doing: "write",
                path: PathBuf::new(),
                source: io::Error::other(e.to_string()),
            }),
        }
    }
}

fn open_file(path: &Path, resume: bool) -> io::Result<(File, u64)> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(!resume)
        .mode(FILE_MODE)
        .open(path)?;
    // Also when it existed already (a leftover from another program).
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    let start = file.seek(SeekFrom::End(0))?;
    Ok((file, start))
}

/// Hash the first `len` bytes of `file`, leaving it positioned at `len`.
fn hash_prefix(file: &mut File, len: u64, hasher: &mut Sha256) -> io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; PREFIX_READ];
    let mut left = len;
    while left > 0 {
        let want = left.min(PREFIX_READ as u64) as usize;
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while its prefix was hashed",
            ));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    file.seek(SeekFrom::Start(len))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    #[tokio::test]
    async fn resuming_hashes_the_prefix_on_disk_then_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.partial");
        std::fs::write(&path, b"stale").unwrap();
        let mut s = Sink::open(&path, false, None).await.unwrap();
        assert_eq!(s.start, 0, "not resuming empties it");
        assert!(s.write(b"hello ".to_vec()).await);
        assert_eq!(
            s.finish().await.unwrap(),
            Written {
                len: 6,
                sha256: sha(b"hello ")
            }
        );
        let mut s = Sink::open(&path, true, None).await.unwrap();
        assert_eq!(s.start, 6);
        assert!(s.write(b"world".to_vec()).await);
        let w = s.finish().await.unwrap();
        assert_eq!(w.sha256, sha(b"hello world"));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn the_limit_stops_the_writer() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("b.partial");
        let mut s = Sink::open(&path, false, Some(4)).await.unwrap();
        s.write(b"abc".to_vec()).await;
        s.write(b"de".to_vec()).await;
        let e = s.finish().await.unwrap_err();
        assert_eq!(e.source.kind(), io::ErrorKind::QuotaExceeded);
    }

    #[tokio::test]
    async fn an_unopenable_file_is_an_open_error() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("missing-dir/c.partial");
        let e = Sink::open(&path, false, None).await.err().unwrap();
        assert_eq!(e.doing, "open");
        assert_eq!(e.path, path);
    }
}
