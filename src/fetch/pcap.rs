//! A capture's pcap files into the case: `artifacts/<ns>/<pod>/pcaps/<node file name>`, fetched
//! through the helper that wrote them (its pod, or the local helper), verified against the
//! SHA-256 the helper announced in `capture_file` as well as the fetch's own trailer, indexed
//! with its transfer record (`<file>.fetch.json`) under one `fetch` custody line, then removed
//! from the node (a `remove_node_file` custody line). The capture's record
//! (`<label>-<id>.capture.json`, [`RECORD_ACTION`]) goes next to the pcaps
//! (`runtime::keep::capture_record`).

use super::evidence::{
    CaseFetched, EvidenceError, base_name, commit_from, remove_via, room, stage,
};
use super::{FetchOptions, HelperExec, Progress, fetch_file_via};
use crate::case::{Action, ArtifactMeta, ArtifactPath, Case, IndexEntry, Source};
use crate::cluster::PodKey;

/// The custody action of a capture's record.
pub const RECORD_ACTION: &str = "capture_record";
/// The media type of classic pcap files.
pub const PCAP_MEDIA: &str = "application/vnd.tcpdump.pcap";
/// The media type of pcapng files.
pub const PCAPNG_MEDIA: &str = "application/x-pcapng";

/// Where a capture's files come from and go.
#[derive(Clone, Copy)]
pub struct PcapSource<'a> {
    pub case: &'a Case,
    /// The pod captured (its directory in the case).
    pub pod: &'a PodKey,
    /// The node the files are on (`local` with `--helper local`).
    pub node: &'a str,
    /// The helper that wrote them.
    pub exec: &'a dyn HelperExec,
}

/// `artifacts/<ns>/<pod>/pcaps/<rest>`.
pub fn pcaps_path(pod: &PodKey, rest: &str) -> Result<ArtifactPath, EvidenceError> {
    Ok(ArtifactPath::pod(
        &pod.namespace,
        &pod.name,
        &format!("pcaps/{rest}"),
    )?)
}

/// The index entry a pcap fetched from `node_path` gets.
pub fn pcap_meta(pod: &PodKey, node: &str, node_path: &str) -> Result<ArtifactMeta, EvidenceError> {
    let name = base_name(node_path)?;
    let media = if name.ends_with(".pcapng") {
        PCAPNG_MEDIA
    } else {
        PCAP_MEDIA
    };
    Ok(ArtifactMeta::new(
        pcaps_path(pod, name)?,
        media,
        Source::Helper {
            node: node.to_string(),
            path: node_path.to_string(),
        },
        Action::from(super::evidence::FETCH_ACTION),
    )
    .for_pod(&pod.namespace, &pod.name, None))
}

/// Fetch the pcap at `node_path` into the case (resumed after cuts). `announced`: the SHA-256
/// of its `capture_file` (None for a file recovered after a cut, which the helper never
/// announced: then the fetch's trailer alone verifies it).
pub async fn fetch_pcap(
    src: &PcapSource<'_>,
    node_path: &str,
    announced: Option<&str>,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<CaseFetched, EvidenceError> {
    let meta = pcap_meta(src.pod, src.node, node_path)?;
    let staged = stage(src.case, meta).await?;
    let options = room(&staged, options);
    let (dir, name) = (staged.dir(), staged.file_name());
    let result = fetch_file_via(
        src.exec, &dir, &name, node_path, announced, &options, progress,
    )
    .await;
    let helper = src.exec.describe();
    commit_from(src.node, &helper, staged, Some(node_path), result).await
}

/// Remove the node's copy of a verified pcap (`copy`: its index entry), recorded.
pub async fn remove_pcap(
    src: &PcapSource<'_>,
    node_path: &str,
    copy: &IndexEntry,
) -> Result<String, EvidenceError> {
    remove_via(src.exec, src.case, src.node, node_path, copy).await
}
