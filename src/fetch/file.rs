//! A file staged on the node, resumed from the bytes on disk after each cut.

use std::path::Path;
use std::time::{Duration, Instant};

use ktui_wire::bulk::{BulkError, BulkTrailer};

use super::receive::{Ended, Expect, accept, helper_failed, pump, settle, sink_error};
use super::sink::Sink;
use super::{
    FetchError, FetchOptions, Fetched, HelperExec, PodExec, Progress, Transfer, fetch_argv,
    local_paths, shown,
};
use crate::cluster::{Cluster, PodKey};

/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Wait before resuming after a cut that brought new bytes.
const RESUME_PAUSE: Duration = Duration::from_millis(100);

/// Fetch `node_path` from the helper in `helper_pod` (container `container`) into
/// `dest_dir/final_name`, with the default [`FetchOptions`]; see [`fetch_file_with`].
pub async fn fetch_file(
    cluster: &dyn Cluster,
    helper_pod: PodKey,
    container: &str,
    node_path: &str,
    dest_dir: &Path,
    final_name: &str,
    progress: Progress<'_>,
) -> Result<Fetched, FetchError> {
    let transfer = Transfer {
        helper_pod,
        container,
        dest_dir,
        final_name,
    };
    fetch_file_with(
        cluster,
        &transfer,
        node_path,
        &FetchOptions::default(),
        progress,
    )
    .await
}

/// Exec `ktui-helper fetch node_path --offset N`, content into `<final_name>.partial`; after a
/// cut, exec again from the bytes on disk (their hash computed first) until the trailer comes,
/// `options.max_stalled` cuts in a row bring nothing, or `options.max_attempts` execs were
/// made. Renamed to `final_name` (fsynced first, the directory after) only when the local hash
/// equals the helper's; on a mismatch the `.partial` is kept, on any other failure removed.
pub async fn fetch_file_with(
    cluster: &dyn Cluster,
    transfer: &Transfer<'_>,
    node_path: &str,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<Fetched, FetchError> {
    let exec = PodExec {
        cluster,
        pod: transfer.helper_pod.clone(),
        container: transfer.container,
    };
    fetch_file_via(
        &exec,
        transfer.dest_dir,
        transfer.final_name,
        node_path,
        None,
        options,
        progress,
    )
    .await
}

/// [`fetch_file_with`] through `exec` (a helper pod, or the local helper), into
/// `dest_dir/final_name`. `announced`: the SHA-256 the helper gave for the file before (a
/// pcap's `capture_file`); the node's hash must equal it too, else the `.partial` is kept and
/// the copy refused ([`FetchError::NotAnnounced`]).
pub async fn fetch_file_via(
    exec: &dyn HelperExec,
    dest_dir: &Path,
    final_name: &str,
    node_path: &str,
    announced: Option<&str>,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<Fetched, FetchError> {
    let (final_path, partial) = local_paths(dest_dir, final_name)?;
    let outcome = attempts(exec, node_path, options, progress, &partial).await;
    if let (Ok(state), Some(announced)) = (&outcome, announced)
        && !state.sha256.eq_ignore_ascii_case(announced)
    {
        return Err(FetchError::NotAnnounced {
            what: shown(node_path),
            announced: shown(announced),
            node: state.sha256.clone(),
            partial,
        });
    }
    match outcome {
        Ok(mut state) => {
            accept(
                node_path,
                &partial,
                &final_path,
                &state.written,
                state.bytes,
                &state.sha256,
            )
            .inspect_err(|e| {
                if !matches!(e, FetchError::Mismatch { .. }) {
                    let _ = std::fs::remove_file(&partial);
                }
            })?;
            state.fetched.path = final_path;
            Ok(state.fetched)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// The attempts' result once a `bulk_end` came.
struct Complete {
    fetched: Fetched,
    written: super::sink::Written,
    bytes: u64,
    sha256: String,
}

async fn attempts(
    exec: &dyn HelperExec,
    node_path: &str,
    options: &FetchOptions,
    progress: Progress<'_>,
    partial: &Path,
) -> Result<Complete, FetchError> {
    let started = Instant::now();
    let mut size: Option<Option<u64>> = None;
    let mut resumed_at = Vec::new();
    let (mut stalled, mut tries) = (0u32, 0u32);
    let mut last_cause;
    loop {
        tries += 1;
        let mut sink = Sink::open(partial, tries > 1, options.limit)
            .await
            .map_err(|e| sink_error(e, node_path, options))?;
        let offset = sink.start;
        if tries > 1 {
            resumed_at.push(offset);
        }
        let argv = fetch_argv(node_path, offset);
        let opened = exec.start(argv).await;
        let (header, ended, written) = match opened {
            Ok(mut stream) => {
                let expect = Expect {
                    what: node_path,
                    offset,
                    size,
                };
                let pumped = pump(&mut stream, &mut sink, &expect, options, &mut *progress).await;
                settle(pumped, sink.finish().await, node_path, options)?
            }
            // The network, not a refusal: it may work when tried again.
            Err(cause) if cause.unreachable() => {
                let written = sink.finish().await;
                let written = written.map_err(|e| sink_error(e, node_path, options))?;
                (None, Ended::Cut(cause.to_string()), written)
            }
            Err(cause) => {
                let _ = sink.finish().await;
                return Err(FetchError::Exec(cause));
            }
        };
        if let Some(h) = &header {
            size = Some(h.size);
        }
        match ended {
            Ended::Trailer(BulkTrailer::End { bytes, sha256 }) => {
                let Some(h) = header else {
                    return Err(FetchError::Protocol {
                        what: shown(node_path),
                        cause: BulkError::Truncated("before its header"),
                    });
                };
                let fetched = Fetched {
                    path: partial.to_path_buf(),
                    name: h.name,
                    bytes,
                    sha256: written.sha256.clone(),
                    node_sha256: sha256.clone(),
                    resumes: tries - 1,
                    resumed_at,
                    elapsed: started.elapsed(),
                };
                return Ok(Complete {
                    fetched,
                    written,
                    bytes,
                    sha256,
                });
            }
            Ended::Trailer(BulkTrailer::Error { message }) => {
                return Err(helper_failed(node_path, &message));
            }
            Ended::Failed(cause) => {
                return Err(FetchError::HelperFailed {
                    what: shown(node_path),
                    cause,
                });
            }
            Ended::Cut(cause) => last_cause = cause,
        }
        let progressed = written.len > offset;
        stalled = if progressed { 0 } else { stalled + 1 };
        tracing::info!(
            target: "ktui::fetch",
            path = node_path,
            at = written.len,
            tries,
            cause = %last_cause,
            "transfer cut"
        );
        if stalled >= options.max_stalled || tries >= options.max_attempts {
            return Err(FetchError::Cut {
                what: shown(node_path),
                cuts: tries,
                cause: last_cause,
                done: written.len,
                total: size.flatten(),
            });
        }
        let pause = if progressed {
            RESUME_PAUSE
        } else {
            (options.backoff * 2u32.saturating_pow(stalled - 1)).min(MAX_BACKOFF)
        };
        tokio::time::sleep(pause).await;
    }
}
