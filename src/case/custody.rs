//! The custody log, `custody.jsonl`: one JSON line per action, hash-chained.
//!
//! Keys, in this order: `seq`, `ts`, `actor`, `action`, `target`, `result`, `error`, `artifacts`,
//! `prev`. `prev` is the SHA-256 (hex) of the previous line's bytes without its newline, 64 zeros
//! for the first line. A rewritten, inserted, deleted or moved line breaks the chain at the first
//! line after the change ([`verify_chain`]). Cutting lines off the end leaves a valid shorter
//! chain: that is caught only against something outside the file (a signed bundle's copy).

use std::borrow::Cow;
use std::io::BufRead;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ChainBreak, ChainError};
use super::fsx;

pub const CUSTODY_FILE: &str = "custody.jsonl";
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
pub const KEYS: &[&str] = &[
    "seq",
    "ts",
    "actor",
    "action",
    "target",
    "result",
    "error",
    "artifacts",
    "prev",
];

/// What was done. The documented names have variants; others go through [`Action::Other`]
/// (`Action::from("checkpoint")`), so later capabilities add names without changing this file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    OpenCase,
    CaptureLogs,
    CaptureEvents,
    CaptureManifest,
    /// A closed stream segment (socket events, later packets).
    CaptureStream,
    DeployHelper,
    RemoveHelper,
    Note,
    Export,
    Upload,
    /// A stream segment found unsealed at open (its writer was killed), sealed at its last
    /// complete line.
    RecoverSegment,
    /// `custody.jsonl` ended in an incomplete line (a cut write), which was dropped.
    RecoverCustody,
    /// Artifacts found indexed at open without the custody line naming them (a kill between
    /// the two writes), named now.
    RecoverArtifact,
    /// An object ktui created in the cluster other than a helper pod (a namespace, later a
    /// clone and its NetworkPolicy); `ktui cleanup` removes what these and `deploy_helper` name.
    CreateObject,
    /// An object `ktui cleanup` deleted.
    DeleteObject,
    Other(Cow<'static, str>),
}

const NAMED: &[(Action, &str)] = &[
    (Action::OpenCase, "open_case"),
    (Action::CaptureLogs, "capture_logs"),
    (Action::CaptureEvents, "capture_events"),
    (Action::CaptureManifest, "capture_manifest"),
    (Action::CaptureStream, "capture_stream"),
    (Action::DeployHelper, "deploy_helper"),
    (Action::RemoveHelper, "remove_helper"),
    (Action::Note, "note"),
    (Action::Export, "export"),
    (Action::Upload, "upload"),
    (Action::RecoverSegment, "recover_segment"),
    (Action::RecoverCustody, "recover_custody"),
    (Action::RecoverArtifact, "recover_artifact"),
    (Action::CreateObject, "create_object"),
    (Action::DeleteObject, "delete_object"),
];

impl Action {
    pub fn as_str(&self) -> &str {
        match self {
            Action::Other(name) => name,
            named => NAMED
                .iter()
                .find(|(a, _)| a == named)
                .map_or("unknown", |(_, s)| s),
        }
    }
}

impl From<&str> for Action {
    fn from(s: &str) -> Self {
        NAMED.iter().find(|(_, name)| *name == s).map_or_else(
            || Action::Other(Cow::Owned(s.to_string())),
            |(a, _)| a.clone(),
        )
    }
}

/// What an action was done to: `case`, `namespace/pod[/container]` or `node/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Case,
    Pod {
        namespace: String,
        pod: String,
        container: Option<String>,
    },
    Node(String),
    /// An object ktui created or deleted in the cluster:
    /// `object/<apiVersion>/<Kind>/<namespace, or - when cluster-scoped>/<name>`
    /// (what `ktui cleanup` reads back).
    Object {
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    },
}

impl Target {
    /// The object a target names, as (apiVersion, kind, namespace, name), when it names one.
    pub fn parse_object(target: &str) -> Option<(String, String, Option<String>, String)> {
        let rest = target.strip_prefix("object/")?;
        let mut parts = rest.rsplitn(4, '/');
        let name = parts.next()?;
        let namespace = parts.next()?;
        let kind = parts.next()?;
        let api_version = parts.next()?;
        if [name, namespace, kind, api_version]
            .iter()
            .any(|p| p.is_empty())
        {
            return None;
        }
        Some((
            api_version.to_string(),
            kind.to_string(),
            (namespace != "-").then(|| namespace.to_string()),
            name.to_string(),
        ))
    }

    pub fn pod(namespace: &str, pod: &str, container: Option<&str>) -> Self {
        Target::Pod {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            container: container.map(str::to_string),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Case => f.write_str("case"),
            Target::Pod {
                namespace,
                pod,
                container: None,
            } => write!(f, "{namespace}/{pod}"),
            Target::Pod {
                namespace,
                pod,
                container: Some(c),
            } => write!(f, "{namespace}/{pod}/{c}"),
            Target::Node(name) => write!(f, "node/{name}"),
            Target::Object {
                api_version,
                kind,
                namespace,
                name,
            } => write!(
                f,
                "object/{api_version}/{kind}/{}/{name}",
                namespace.as_deref().unwrap_or("-")
            ),
        }
    }
}

/// An artifact a custody line names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    pub path: String,
    pub sha256: String,
}

/// Who acted: the investigator's account and the Kubernetes identity in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub local_user: String,
    pub host: String,
    pub kube_user: Option<String>,
    pub context: String,
}

/// An action to append; the journal adds `seq`, `ts` and `prev`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: Action,
    pub target: Target,
    /// `Err(message)` records `result: "error"` with that message.
    pub outcome: Result<(), String>,
    pub artifacts: Vec<ArtifactRef>,
}

impl Entry {
    pub fn ok(action: Action, target: Target, artifacts: Vec<ArtifactRef>) -> Self {
        Entry {
            action,
            target,
            outcome: Ok(()),
            artifacts,
        }
    }
}

/// One line as written (field order is the pinned key order).
#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    ts: String,
    actor: &'a Actor,
    action: &'a str,
    target: String,
    result: &'static str,
    error: Option<&'a str>,
    artifacts: &'a [ArtifactRef],
    prev: &'a str,
}

/// A line as read back (for `ktui case show`).
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub seq: u64,
    #[serde(with = "fsx::ts")]
    pub ts: Timestamp,
    pub actor: Actor,
    pub action: String,
    pub target: String,
    pub result: String,
    pub error: Option<String>,
    pub artifacts: Vec<ArtifactRef>,
    pub prev: String,
}

/// Where the chain stands: the next line's `seq` and `prev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub next_seq: u64,
    pub prev: String,
}

impl ChainHead {
    pub fn genesis() -> Self {
        ChainHead {
            next_seq: 1,
            prev: GENESIS.to_string(),
        }
    }

    /// The head after `last_line` (the file's last complete line); `None` when it is not a
    /// custody line.
    pub fn after(last_line: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(last_line).ok()?;
        let seq = value.get("seq")?.as_u64()?;
        Some(ChainHead {
            next_seq: seq + 1,
            prev: sha256_hex(last_line),
        })
    }

    /// The next line's bytes (no newline) for `entry`, and the head after it.
    pub fn line(&self, ts: Timestamp, actor: &Actor, entry: &Entry) -> (Vec<u8>, ChainHead) {
        let line = Line {
            seq: self.next_seq,
            ts: fsx::rfc3339_ns(ts),
            actor,
            action: entry.action.as_str(),
            target: entry.target.to_string(),
            result: if entry.outcome.is_ok() { "ok" } else { "error" },
            error: entry.outcome.as_ref().err().map(String::as_str),
            artifacts: &entry.artifacts,
            prev: &self.prev,
        };
        // Strings, numbers and a derived struct: serialising cannot fail.
        let bytes = serde_json::to_vec(&line).unwrap_or_default();
        let head = ChainHead {
            next_seq: self.next_seq + 1,
            prev: sha256_hex(&bytes),
        };
        (bytes, head)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Check a whole custody log: every line a JSON object with the pinned keys in order, `seq`
/// 1, 2, ..., each `prev` the hash of the line before, a final newline. Returns the number of
/// lines; the error names the first line that fails.
pub fn verify_chain(mut reader: impl BufRead) -> Result<usize, ChainError> {
    let mut head = ChainHead::genesis();
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        line_no += 1;
        let fail = |kind| ChainError {
            line: line_no,
            kind,
        };
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| fail(ChainBreak::Io(e)))?;
        if n == 0 {
            return Ok(line_no - 1);
        }
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Err(fail(ChainBreak::Incomplete));
        };
        let value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(line).map_err(|e| fail(ChainBreak::NotJson(e.to_string())))?;
        let keys: Vec<&str> = value.keys().map(String::as_str).collect();
        if keys != KEYS {
            return Err(fail(ChainBreak::Keys {
                found: keys.iter().map(|k| k.to_string()).collect(),
                expected: KEYS,
            }));
        }
        let seq = &value["seq"];
        if seq.as_u64() != Some(head.next_seq) {
            return Err(fail(ChainBreak::Seq {
                expected: head.next_seq,
                found: seq.to_string(),
            }));
        }
        let prev = value["prev"].as_str().unwrap_or_default();
        if prev != head.prev {
            return Err(fail(ChainBreak::Prev {
                expected: head.prev,
                found: value["prev"].to_string(),
            }));
        }
        head = ChainHead {
            next_seq: head.next_seq + 1,
            prev: sha256_hex(line),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            local_user: "u".into(),
            host: "h".into(),
            kube_user: None,
            context: "c".into(),
        }
    }

    /// `n` chained lines, each with its newline.
    fn chain(n: usize) -> Vec<Vec<u8>> {
        let mut head = ChainHead::genesis();
        (0..n)
            .map(|i| {
                let entry = Entry::ok(Action::from(format!("a{i}").as_str()), Target::Case, vec![]);
                let (mut line, next) = head.line(Timestamp::UNIX_EPOCH, &actor(), &entry);
                head = next;
                line.push(b'\n');
                line
            })
            .collect()
    }

    fn verify(lines: &[Vec<u8>]) -> Result<usize, ChainError> {
        verify_chain(lines.concat().as_slice())
    }

    #[test]
    fn a_good_chain_verifies_and_starts_from_zeros() {
        let lines = chain(4);
        assert_eq!(verify(&lines).unwrap(), 4);
        assert_eq!(verify(&[]).unwrap(), 0);
        let first: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["seq"], 1);
        assert_eq!(first["result"], "ok");
        assert_eq!(first["error"], serde_json::Value::Null);
        let keys: Vec<_> = first.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, KEYS);
        let second: serde_json::Value = serde_json::from_slice(&lines[1]).unwrap();
        let hash = sha256_hex(lines[0].strip_suffix(b"\n").unwrap());
        assert_eq!(second["prev"], hash.as_str());
    }

    #[test]
    fn a_rewritten_line_breaks_the_next_one() {
        let mut lines = chain(5);
        lines[2] = String::from_utf8(lines[2].clone())
            .unwrap()
            .replace("\"a2\"", "\"a9\"")
            .into_bytes();
        let err = verify(&lines).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(matches!(err.kind, ChainBreak::Prev { .. }), "{err}");
    }

    #[test]
    fn inserted_deleted_and_moved_lines_are_found() {
        let lines = chain(5);
        let mut inserted = lines.clone();
        inserted.insert(2, lines[1].clone());
        assert_eq!(verify(&inserted).unwrap_err().line, 3);
        let mut deleted = lines.clone();
        deleted.remove(2);
        assert_eq!(verify(&deleted).unwrap_err().line, 3);
        let mut moved = lines.clone();
        moved.swap(1, 3);
        assert_eq!(verify(&moved).unwrap_err().line, 2);
        let mut first_gone = lines.clone();
        first_gone.remove(0);
        assert_eq!(verify(&first_gone).unwrap_err().line, 1);
    }

    #[test]
    fn a_forged_line_with_the_right_seq_still_breaks_the_chain() {
        let lines = chain(3);
        // An insert that renumbers itself and hashes its predecessor correctly: the line after
        // it no longer matches.
        let head = ChainHead::after(lines[1].strip_suffix(b"\n").unwrap()).unwrap();
        let entry = Entry::ok(Action::Note, Target::Case, vec![]);
        let (mut forged, _) = head.line(Timestamp::UNIX_EPOCH, &actor(), &entry);
        forged.push(b'\n');
        let mut tampered = lines.clone();
        tampered.insert(2, forged);
        let err = verify(&tampered).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
    }

    #[test]
    fn torn_garbage_and_reordered_keys_are_named() {
        let mut lines = chain(2);
        lines[1].pop();
        assert!(matches!(
            verify(&lines).unwrap_err().kind,
            ChainBreak::Incomplete
        ));
        let lines = vec![chain(1)[0].clone(), b"not json\n".to_vec()];
        let err = verify(&lines).unwrap_err();
        assert_eq!(
            (err.line, matches!(err.kind, ChainBreak::NotJson(_))),
            (2, true)
        );
        let mut value: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&chain(1)[0]).unwrap();
        let seq = value.shift_remove("seq").unwrap();
        value.insert("seq".into(), seq);
        let mut line = serde_json::to_vec(&value).unwrap();
        line.push(b'\n');
        assert!(matches!(
            verify(&[line]).unwrap_err().kind,
            ChainBreak::Keys { .. }
        ));
    }

    #[test]
    fn actions_round_trip_their_names() {
        assert_eq!(Action::from("capture_logs"), Action::CaptureLogs);
        assert_eq!(Action::CaptureLogs.as_str(), "capture_logs");
        assert_eq!(Action::from("checkpoint").as_str(), "checkpoint");
        assert_eq!(Target::pod("ns", "p", Some("c")).to_string(), "ns/p/c");
        assert_eq!(Target::Node("n1".into()).to_string(), "node/n1");
    }

    #[test]
    fn object_targets_read_back() {
        let np = Target::Object {
            api_version: "networking.k8s.io/v1".into(),
            kind: "NetworkPolicy".into(),
            namespace: Some("shop".into()),
            name: "web-forensic".into(),
        };
        let text = np.to_string();
        assert_eq!(
            text,
            "object/networking.k8s.io/v1/NetworkPolicy/shop/web-forensic"
        );
        assert_eq!(
            Target::parse_object(&text),
            Some((
                "networking.k8s.io/v1".into(),
                "NetworkPolicy".into(),
                Some("shop".into()),
                "web-forensic".into()
            ))
        );
        let ns = Target::Object {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: "ktui-system".into(),
        };
        assert_eq!(
            Target::parse_object(&ns.to_string()).map(|o| o.2),
            Some(None)
        );
        assert_eq!(Target::parse_object("shop/web-1"), None);
        assert_eq!(Target::parse_object("object/v1/Pod//x"), None);
    }
}
