//! Reading one bulk stream into a [`Sink`], and streams of unknown size (no resume).

use std::path::Path;
use std::time::{Duration, Instant};

use ktui_wire::bulk::{BulkDecoder, BulkEvent, BulkHeader, BulkTrailer};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::sink::{BATCH, Sink, SinkError, Written};
use super::{
    FetchError, FetchOptions, Fetched, HelperExec as _, PodExec, Progress, Transfer, local_paths,
    shown,
};
use crate::cluster::Cluster;
use crate::sanitize;

/// Bytes per read from the stream.
const READ: usize = 1 << 20;
/// The slowest disk a resumed fetch's prefix is assumed to be read and hashed from on the node
/// (before its first chunk comes, the idle timeout is stretched by the prefix at this rate).
const PREFIX_HASH_BYTES_PER_SEC: u64 = 32 << 20;

/// How a stream ended.
#[derive(Debug)]
pub(super) enum Ended {
    /// The trailer arrived (complete, or the helper's error).
    Trailer(BulkTrailer),
    /// The stream failed or ended before its trailer (`cause` said plainly).
    Cut(String),
    /// The process failed before it sent a header (a helper without the subcommand, a
    /// command that does not start): trying again would fail the same way.
    Failed(String),
}

/// What [`pump`] expects of the header.
pub(super) struct Expect<'a> {
    /// For messages: the node path or stream name.
    pub what: &'a str,
    /// Where the content must start (the sink's length).
    pub offset: u64,
    /// The size an earlier attempt announced.
    pub size: Option<Option<u64>>,
}

/// Why [`pump`] stopped early.
pub(super) enum PumpError {
    Fetch(FetchError),
    /// The writer thread stopped: its error comes from [`Sink::finish`].
    SinkStopped,
}

impl From<FetchError> for PumpError {
    fn from(e: FetchError) -> Self {
        PumpError::Fetch(e)
    }
}

/// Read `stream` to its trailer or its cut, handing content to `sink` in batches; the header
/// (if one came) and how it ended. `Err`: the stream is not a bulk stream, or the header
/// disagrees with `expect`, or the sink stopped.
pub(super) async fn pump<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    sink: &mut Sink,
    expect: &Expect<'_>,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<(Option<BulkHeader>, Ended), PumpError> {
    let mut decoder = BulkDecoder::new();
    let mut buf = vec![0u8; READ];
    let mut batch: Vec<u8> = sink.buffer();
    let protocol = |cause| FetchError::Protocol {
        what: shown(expect.what),
        cause,
    };
    let ended = loop {
        let wait = match decoder.header() {
            // A resumed fetch: the helper hashes the prefix it does not send before its first
            // chunk (tens of GB take minutes): not a stall.
            Some(h) if h.offset > 0 && decoder.content_bytes() == 0 => {
                options.idle_timeout + Duration::from_secs(h.offset / PREFIX_HASH_BYTES_PER_SEC)
            }
            _ => options.idle_timeout,
        };
        let n = match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Err(_) => {
                break Ended::Cut(format!("no data for {} s", wait.as_secs()));
            }
            Ok(Err(e)) => {
                let cause = sanitize::line(&e.to_string()).into_owned();
                // A dropped connection is ConnectionAborted; Other is the process's failure.
                if e.kind() == std::io::ErrorKind::Other && decoder.header().is_none() {
                    break Ended::Failed(cause);
                }
                break Ended::Cut(cause);
            }
            Ok(Ok(0)) => {
                let why = decoder.finish().err().map(|e| e.to_string());
                break Ended::Cut(why.unwrap_or_else(|| "the stream ended".to_string()));
            }
            Ok(Ok(n)) => n,
        };
        let mut input = &buf[..n];
        let mut trailer = None;
        while let Some(event) = decoder.next_event(&mut input).map_err(protocol)? {
            match event {
                BulkEvent::Header(h) => check_header(&h, expect)?,
                BulkEvent::Content(c) => {
                    let mut c = c;
                    while !c.is_empty() {
                        let take = (BATCH - batch.len()).min(c.len());
                        batch.extend_from_slice(&c[..take]);
                        c = &c[take..];
                        if batch.len() >= BATCH {
                            let full = std::mem::replace(&mut batch, sink.buffer());
                            if !sink.write(full).await {
                                return Err(PumpError::SinkStopped);
                            }
                        }
                    }
                }
                BulkEvent::Trailer(t) => {
                    trailer = Some(t);
                    break;
                }
            }
        }
        if let Some(h) = decoder.header() {
            progress(h.offset + decoder.content_bytes(), h.size);
        }
        if let Some(t) = trailer {
            break Ended::Trailer(t);
        }
    };
    if !batch.is_empty() && !sink.write(batch).await {
        return Err(PumpError::SinkStopped);
    }
    Ok((decoder.header().cloned(), ended))
}

fn check_header(h: &BulkHeader, expect: &Expect<'_>) -> Result<(), FetchError> {
    if h.offset != expect.offset {
        return Err(FetchError::WrongOffset {
            what: shown(expect.what),
            expected: expect.offset,
            got: h.offset,
        });
    }
    if let Some(was) = expect.size
        && was != h.size
    {
        return Err(FetchError::Changed {
            what: shown(expect.what),
            was,
            now: h.size,
        });
    }
    Ok(())
}

/// A sink failure as the error to report (the room left when it hit the limit).
pub(super) fn sink_error(e: SinkError, what: &str, options: &FetchOptions) -> FetchError {
    if e.source.kind() == std::io::ErrorKind::QuotaExceeded {
        return FetchError::NoRoom {
            what: shown(what),
            room: options.limit.unwrap_or(0),
        };
    }
    FetchError::Local {
        doing: e.doing,
        path: e.path,
        source: e.source,
    }
}

/// [`pump`]'s result once the sink finished: the sink's own error when it stopped.
pub(super) fn settle(
    pumped: Result<(Option<BulkHeader>, Ended), PumpError>,
    written: Result<Written, SinkError>,
    what: &str,
    options: &FetchOptions,
) -> Result<(Option<BulkHeader>, Ended, Written), FetchError> {
    match (pumped, written) {
        (Ok((h, ended)), Ok(w)) => Ok((h, ended, w)),
        (Err(PumpError::Fetch(e)), _) => Err(e),
        (_, Err(e)) => Err(sink_error(e, what, options)),
        (Err(PumpError::SinkStopped), Ok(_)) => Err(FetchError::local(
            "write",
            Path::new(what),
            std::io::Error::other("the writer thread stopped"),
        )),
    }
}

/// The content is complete: accept it when the hashes agree (rename, directory fsync), else
/// keep the `.partial` and say so.
pub(super) fn accept(
    what: &str,
    partial: &Path,
    final_path: &Path,
    written: &Written,
    bytes: u64,
    sha256: &str,
) -> Result<(), FetchError> {
    if written.sha256 != sha256 || written.len != bytes {
        return Err(FetchError::Mismatch {
            what: shown(what),
            partial: partial.to_path_buf(),
            expected: sha256.to_string(),
            got: written.sha256.clone(),
            bytes: written.len,
        });
    }
    if final_path.symlink_metadata().is_ok() {
        return Err(FetchError::Exists {
            path: final_path.to_path_buf(),
        });
    }
    std::fs::rename(partial, final_path).map_err(|e| FetchError::local("rename", partial, e))?;
    let dir = final_path.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FetchError::local("sync", dir, e))
}

/// The helper's own failure message, safe to show.
pub(super) fn helper_failed(what: &str, message: &str) -> FetchError {
    FetchError::Helper {
        what: shown(what),
        message: sanitize::line(message).into_owned(),
    }
}

/// Receive one stream of unknown size (a live snapshot) into `dest_dir/final_name`: no resume;
/// a cut removes the `.partial` and is [`FetchError::StreamCut`].
pub async fn receive_stream<S: AsyncRead + Unpin + Send + ?Sized>(
    stream: &mut S,
    dest_dir: &Path,
    final_name: &str,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<Fetched, FetchError> {
    let started = Instant::now();
    let (final_path, partial) = local_paths(dest_dir, final_name)?;
    let mut sink = Sink::open(&partial, false, options.limit)
        .await
        .map_err(|e| sink_error(e, final_name, options))?;
    let expect = Expect {
        what: final_name,
        offset: 0,
        size: None,
    };
    let pumped = pump(stream, &mut sink, &expect, options, progress).await;
    let settled = settle(pumped, sink.finish().await, final_name, options);
    let outcome = match settled {
        Ok((Some(h), Ended::Trailer(BulkTrailer::End { bytes, sha256 }), w)) => {
            accept(final_name, &partial, &final_path, &w, bytes, &sha256).map(|()| Fetched {
                path: final_path,
                name: h.name,
                bytes,
                sha256: w.sha256,
                node_sha256: sha256,
                resumes: 0,
                resumed_at: Vec::new(),
                elapsed: started.elapsed(),
            })
        }
        Ok((_, Ended::Trailer(BulkTrailer::Error { message }), _)) => {
            Err(helper_failed(final_name, &message))
        }
        Ok((_, Ended::Trailer(BulkTrailer::End { .. }), _)) => Err(FetchError::Protocol {
            what: shown(final_name),
            cause: ktui_wire::bulk::BulkError::Truncated("before its header"),
        }),
        Ok((_, Ended::Failed(cause), _)) => Err(FetchError::HelperFailed {
            what: shown(final_name),
            cause,
        }),
        Ok((_, Ended::Cut(cause), w)) => Err(FetchError::StreamCut {
            what: shown(final_name),
            done: w.len,
            cause,
        }),
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome
        && !matches!(e, FetchError::Mismatch { .. })
    {
        let _ = std::fs::remove_file(&partial);
    }
    outcome
}

/// Exec `argv` in the helper and [`receive_stream`] its output; after a cut, start it again
/// from the beginning, at most `options.max_restarts` times (`resumes` counts the restarts).
pub async fn restart_stream(
    cluster: &dyn Cluster,
    transfer: &Transfer<'_>,
    argv: Vec<String>,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<Fetched, FetchError> {
    let started = Instant::now();
    let name = transfer.final_name;
    let mut restarts = 0;
    let exec = PodExec {
        cluster,
        pod: transfer.helper_pod.clone(),
        container: transfer.container,
    };
    loop {
        let mut stream = exec.start(argv.clone()).await.map_err(FetchError::Exec)?;
        let received = receive_stream(
            &mut stream,
            transfer.dest_dir,
            name,
            options,
            &mut *progress,
        )
        .await;
        match received {
            Ok(mut f) => {
                f.resumes = restarts;
                f.resumed_at = vec![0; restarts as usize];
                f.elapsed = started.elapsed();
                return Ok(f);
            }
            Err(FetchError::StreamCut { .. }) if restarts < options.max_restarts => {
                restarts += 1;
                tracing::info!(target: "ktui::fetch", name, restarts, "stream cut: starting it again");
            }
            Err(e) => return Err(e),
        }
    }
}
