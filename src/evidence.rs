//! The investigation's evidence set: every artifact collected, with its SHA-256 and capture time,
//! registered when it is captured. Export (a later capability) packages what is here.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::cluster::PodKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// Logs of the terminated container instance (`previous=true`), or of a terminated container.
    ContainerLogs,
    /// The pod's events, rendered as JSON lines.
    PodEvents,
    /// A helper session: its hello (probes attached), image ID and loss counters (JSON).
    HelperSession,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::ContainerLogs => "container-logs",
            EvidenceKind::PodEvents => "pod-events",
            EvidenceKind::HelperSession => "helper-session",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    pub kind: EvidenceKind,
    pub pod: PodKey,
    pub container: Option<String>,
    /// For logs: whether they are the previous instance's.
    pub previous: bool,
    /// The crash signature that triggered the capture.
    pub signature: String,
    pub captured_at: Timestamp,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

impl EvidenceItem {
    pub fn new(
        kind: EvidenceKind,
        pod: PodKey,
        container: Option<String>,
        previous: bool,
        signature: String,
        captured_at: Timestamp,
        bytes: Vec<u8>,
    ) -> Self {
        Self {
            sha256: sha256_hex(&bytes),
            kind,
            pod,
            container,
            previous,
            signature,
            captured_at,
            bytes,
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Evidence kept in memory for this session (bounded by the number of distinct signatures).
#[derive(Debug, Default)]
pub struct EvidenceSet {
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

    pub fn total_bytes(&self) -> usize {
        self.items.iter().map(|i| i.bytes.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_taken_at_capture() {
        let item = EvidenceItem::new(
            EvidenceKind::ContainerLogs,
            PodKey::new("a", "b"),
            Some("c".into()),
            true,
            "sig".into(),
            Timestamp::UNIX_EPOCH,
            b"abc".to_vec(),
        );
        // printf abc | sha256sum
        assert_eq!(
            item.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
