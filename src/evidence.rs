//! The run's evidence as the console shows it: what the case (src/case/) holds, one item per
//! artifact written there with its path, size and SHA-256 — never the bytes, which are on disk
//! from the moment they are shown as captured. Capture failures are kept too, to be said.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::case::{CaseError, IndexEntry};
use crate::cluster::{ClusterError, PodKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// Logs of the terminated container instance (`previous=true`), or of a terminated container.
    ContainerLogs,
    /// The pod's events (a JSON array).
    PodEvents,
    /// A helper session: its hello (probes attached), image ID and loss counters (JSON).
    HelperSession,
    /// Logs saved from the logs pane (`S`), exactly as fetched.
    SavedLogs,
    /// Collected for an export (manifest, owners, node, events, logs, ConfigMaps, Secret HMACs).
    Collected,
    /// A kubelet checkpoint's request and answer (`checkpoints/<container>-<UTC>.request.json`).
    CheckpointRecord,
    /// A checkpoint archive fetched off the node (`checkpoints/<node file name>`).
    CheckpointArchive,
    /// A live snapshot (`snapshots/snapshot-...tar`).
    LiveSnapshot,
    /// The record of a transfer off the node (`<file>.fetch.json`).
    FetchRecord,
    /// A pcap file of a capture (`pcaps/<label>-<id>-<seq>.pcap`).
    Pcap,
    /// A capture's record (`pcaps/<label>-<id>.capture.json`).
    CaptureRecord,
    /// What a forensic clone created and why (`clone/<name>.<kind>.json`, `<name>.clone.json`).
    CloneRecord,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::ContainerLogs => "container-logs",
            EvidenceKind::PodEvents => "pod-events",
            EvidenceKind::HelperSession => "helper-session",
            EvidenceKind::SavedLogs => "saved-logs",
            EvidenceKind::Collected => "collected",
            EvidenceKind::CheckpointRecord => "checkpoint-record",
            EvidenceKind::CheckpointArchive => "checkpoint-archive",
            EvidenceKind::LiveSnapshot => "live-snapshot",
            EvidenceKind::FetchRecord => "fetch-record",
            EvidenceKind::Pcap => "pcap",
            EvidenceKind::CaptureRecord => "capture-record",
            EvidenceKind::CloneRecord => "clone-record",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    pub kind: EvidenceKind,
    pub pod: Option<PodKey>,
    pub container: Option<String>,
    /// For logs: whether they are the previous instance's.
    pub previous: bool,
    /// The crash signature that triggered the capture, if one did.
    pub signature: Option<String>,
    /// In the case directory.
    pub path: String,
    pub captured_at: Timestamp,
    pub sha256: String,
    pub size: u64,
}

impl EvidenceItem {
    /// The item for an artifact the case has just indexed.
    pub fn written(kind: EvidenceKind, entry: &IndexEntry) -> Self {
        let pod = entry.pod.as_deref().and_then(|p| {
            let (ns, name) = p.split_once('/')?;
            Some(PodKey::new(ns, name))
        });
        Self {
            kind,
            pod,
            container: entry.container.clone(),
            previous: entry.path.ends_with(".previous.log") || entry.path.contains(".previous-"),
            signature: entry.crash_signature.clone(),
            path: entry.path.clone(),
            captured_at: entry.captured_at,
            sha256: entry.sha256.clone().unwrap_or_default(),
            size: entry.size,
        }
    }
}

/// Why a capture failed: fetching it, or keeping it on disk.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CaptureError {
    #[error("{0}")]
    Cluster(#[from] ClusterError),
    #[error("{0}")]
    Case(std::sync::Arc<CaseError>),
    /// The run has no case to write into (a driver built without one).
    #[error("no case is open to keep it in")]
    NoCase,
    /// The write's thread ended before it did (the run is ending).
    #[error("the write was interrupted: {0}")]
    Interrupted(String),
}

impl From<CaseError> for CaptureError {
    fn from(e: CaseError) -> Self {
        CaptureError::Case(std::sync::Arc::new(e))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the case holds of this run, as the console shows it.
#[derive(Debug, Default)]
pub struct EvidenceSet {
    /// The case written into (id, directory), when one is open.
    pub case: Option<(String, std::path::PathBuf)>,
    items: Vec<EvidenceItem>,
    failures: Vec<String>,
}

impl EvidenceSet {
    pub fn add(&mut self, item: EvidenceItem) {
        self.items.push(item);
    }

    pub fn record_failure(&mut self, what: String) {
        self.failures.push(what);
    }

    pub fn items(&self) -> &[EvidenceItem] {
        &self.items
    }

    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    pub fn total_bytes(&self) -> u64 {
        self.items.iter().map(|i| i.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes() {
        // printf abc | sha256sum
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
