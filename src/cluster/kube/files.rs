//! Saved `kubectl get ... -o json` dumps as input (for `ktui triage --from-file`).
//!
//! Each document is a Pod, a PodList or a List of any objects (several documents may follow each
//! other in one file). ReplicaSets, Jobs and other controllers in the input make owner
//! resolution exact. Errors carry `FILE:LINE:COL`.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cluster::PodSummary;
use crate::cluster::kube::convert::{controller_owner, pod_summary};
use crate::sanitize;
use crate::triage::owners::OwnerIndex;

/// A parse or shape error at a position in an input file. Its text is safe for a terminal: the
/// file name and the message (which can quote the input) are sanitised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}:{line}:{column}: {}",
    sanitize::line(file),
    sanitize::line(message)
)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Objects read from dumps, before classification.
#[derive(Debug, Default)]
pub struct Inputs {
    pods: Vec<Pod>,
    /// Pod identity → index in `pods`.
    seen: std::collections::HashMap<String, usize>,
    owners: OwnerIndex,
}

/// The parts of any object needed to route it; `items` borrow the file's text so positions of
/// errors inside them can be computed.
#[derive(Deserialize)]
struct Header<'a> {
    kind: Option<String>,
    metadata: Option<ObjectMeta>,
    #[serde(borrow)]
    items: Option<Vec<&'a RawValue>>,
}

impl Inputs {
    /// Read one file's text (`name` is used in error messages).
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<(), InputError> {
        let docs = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
        let mut count = 0usize;
        for doc in docs {
            let doc = doc.map_err(|e| at(name, e.line(), e.column(), &e))?;
            self.add_object(name, text, doc, None)?;
            count += 1;
        }
        if count == 0 {
            return Err(InputError {
                file: name.to_string(),
                line: 1,
                column: 1,
                message: format!("no JSON document found (expected {EXPECTED})"),
            });
        }
        Ok(())
    }

    /// One object; `item_of` is the kind a typed list (`PodList`, `ReplicaSetList`) gives its
    /// items, which the API server sends without `kind`/`apiVersion`.
    fn add_object<'a>(
        &mut self,
        name: &str,
        file: &'a str,
        raw: &'a RawValue,
        item_of: Option<&str>,
    ) -> Result<(), InputError> {
        // Positions are computed only for an error (scanning the file from its start for every
        // item made reading one large List quadratic).
        let here = || position_of(file, raw.get());
        let shift = |e: serde_json::Error| {
            let (line0, col0) = here();
            let col = if e.line() == 1 {
                col0 + e.column() - 1
            } else {
                e.column()
            };
            at(name, line0 + e.line() - 1, col, &e)
        };
        let error = |message: String| {
            let (line, column) = here();
            InputError {
                file: name.to_string(),
                line,
                column,
                message,
            }
        };
        if let Some(what) = not_an_object(raw.get()) {
            return Err(error(format!(
                "a JSON {what} is not a Kubernetes object: expected {EXPECTED}{}",
                if what == "array" {
                    "; wrap bare objects in {\"kind\": \"List\", \"items\": [...]}"
                } else {
                    ""
                }
            )));
        }
        let header: Header = serde_json::from_str(raw.get()).map_err(shift)?;
        let kind = header.kind.as_deref().or(item_of).unwrap_or("");
        if let Some(items) = header.items {
            let of = kind.strip_suffix("List").filter(|k| !k.is_empty());
            for item in items {
                self.add_object(name, file, item, of)?;
            }
            return Ok(());
        }
        match kind {
            "Pod" => {
                let pod: Pod = if header.kind.is_some() {
                    serde_json::from_str(raw.get()).map_err(shift)?
                } else {
                    // An item of a PodList: k8s-openapi wants its apiVersion and kind.
                    let mut value: serde_json::Value =
                        serde_json::from_str(raw.get()).map_err(shift)?;
                    if let Some(obj) = value.as_object_mut() {
                        obj.insert("apiVersion".into(), "v1".into());
                        obj.insert("kind".into(), "Pod".into());
                    }
                    serde_json::from_value(value).map_err(|e| {
                        let (line, column) = here();
                        at(name, line, column, &e)
                    })?
                };
                self.add_pod(pod);
            }
            "" => {
                return Err(error(format!(
                    "object has no \"kind\": expected {EXPECTED}"
                )));
            }
            _ => {
                // Any other object: keep its identity and controller owner for resolution.
                if let Some(meta) = header.metadata {
                    self.owners.insert(
                        meta.namespace.as_deref().unwrap_or(""),
                        kind,
                        meta.name.as_deref().unwrap_or(""),
                        controller_owner(&meta),
                    );
                }
            }
        }
        Ok(())
    }

    /// The same pod in several dumps (by UID, else namespace/name) counts once: the copy with
    /// the higher `resourceVersion` wins, else the first read.
    fn add_pod(&mut self, pod: Pod) {
        let m = &pod.metadata;
        let id = match &m.uid {
            Some(uid) => format!("uid:{uid}"),
            None => format!(
                "name:{}/{}",
                m.namespace.as_deref().unwrap_or(""),
                m.name.as_deref().unwrap_or("")
            ),
        };
        let version = |p: &Pod| {
            p.metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
        };
        match self.seen.get(&id) {
            Some(&i) => {
                if let (Some(new), Some(old)) = (version(&pod), version(&self.pods[i]))
                    && new > old
                {
                    self.pods[i] = pod;
                }
            }
            None => {
                self.seen.insert(id, self.pods.len());
                self.pods.push(pod);
            }
        }
    }

    /// Summaries of every pod read, with workloads resolved through the objects read.
    pub fn summaries(&self) -> Vec<PodSummary> {
        self.pods
            .iter()
            .map(|p| pod_summary(p, &self.owners))
            .collect()
    }
}

fn at(file: &str, line: usize, column: usize, e: &serde_json::Error) -> InputError {
    // serde_json appends " at line L column C"; the prefix already says where.
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    InputError {
        file: file.to_string(),
        line: line.max(1),
        column: column.max(1),
        message,
    }
}

/// What every input must be, as messages say it.
const EXPECTED: &str = "a Pod, a PodList or a List (`kubectl get pods -o json`)";

/// The JSON type of a document that is not an object (`None` for an object).
fn not_an_object(json: &str) -> Option<&'static str> {
    match json.trim_start().bytes().next()? {
        b'{' => None,
        b'[' => Some("array"),
        b'"' => Some("string"),
        b't' | b'f' => Some("boolean"),
        b'n' => Some("null"),
        _ => Some("number"),
    }
}

/// 1-based line and column where `inner` (a slice of `file`) starts. Scans the file up to
/// there: call it for errors only.
fn position_of(file: &str, inner: &str) -> (usize, usize) {
    let offset = (inner.as_ptr() as usize).saturating_sub(file.as_ptr() as usize);
    let before = file.get(..offset).unwrap_or("");
    #[cfg(test)]
    tests::SCANNED.with(|n| n.set(n.get() + before.len()));
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Bytes `position_of` scanned on this thread.
        pub(super) static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn scanned_while<T>(f: impl FnOnce() -> T) -> (T, usize) {
        SCANNED.with(|n| n.set(0));
        let out = f();
        (out, SCANNED.with(std::cell::Cell::get))
    }

    #[test]
    fn reading_a_large_list_scans_for_positions_only_on_error() {
        // 2,000 pods of ~150 bytes: one scan from the start per item would read ~300 MB here,
        // 1,000 times the file. Reading stays linear: no position is computed for good items,
        // and an error costs one scan (at most the file's length).
        let pod = |i: usize, phase: &str| {
            format!(
                "{{\"kind\":\"Pod\",\"metadata\":{{\"name\":\"p{i}\",\"namespace\":\"ns\",\"uid\":\"u{i}\"}},\"spec\":{{\"containers\":[]}},\"status\":{{\"phase\":{phase}}}}}"
            )
        };
        let list = |last: &str| {
            let items: Vec<String> = (0..2_000)
                .map(|i| pod(i, if i == 1_999 { last } else { "\"Running\"" }))
                .collect();
            format!(
                "{{\"kind\":\"List\",\"items\":[\n{}\n]}}",
                items.join(",\n")
            )
        };
        let good = list("\"Running\"");
        let (read, scanned) = scanned_while(|| Inputs::default().add_text("big.json", &good));
        assert!(read.is_ok(), "{read:?}");
        assert_eq!(scanned, 0, "positions computed for good input");
        let bad = list("5");
        let (read, scanned) = scanned_while(|| Inputs::default().add_text("big.json", &bad));
        let err = read.unwrap_err();
        assert_eq!(err.line, 2_001, "{err}");
        assert!(
            scanned <= bad.len(),
            "scanned {scanned} bytes of {}",
            bad.len()
        );
    }

    #[test]
    fn syntax_error_has_file_line_column() {
        let mut inputs = Inputs::default();
        let err = inputs
            .add_text("dump.json", "{\n  \"kind\": \"Pod\",\n  \"metadata\": {\n}")
            .unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("dump.json", 4));
        assert!(err.to_string().starts_with("dump.json:4:"), "{err}");
    }

    #[test]
    fn shape_error_inside_list_item_points_into_the_item() {
        let text = "{\"kind\":\"List\",\"items\":[\n {\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}},\n {\"kind\":\"Pod\",\"spec\":{\"containers\":7}}\n]}";
        let mut inputs = Inputs::default();
        let err = inputs.add_text("x.json", text).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("invalid type"), "{err}");
    }

    #[test]
    fn typed_list_items_without_kind_are_read_and_duplicates_merge() {
        // As the API server sends a PodList (`kubectl get --raw /api/v1/pods`): items have no
        // kind/apiVersion. The same pod thrice (overlapping dumps) counts once: the newest
        // resourceVersion wins, the first read on a tie.
        let pod = |node: &str, rv: u32| {
            format!(
                "{{\"metadata\":{{\"name\":\"a\",\"namespace\":\"ns\",\"uid\":\"u1\",\"resourceVersion\":\"{rv}\"}},\"spec\":{{\"nodeName\":\"{node}\",\"containers\":[]}}}}"
            )
        };
        let text = format!(
            "{{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[{},{},{}]}}",
            pod("n1", 9),
            pod("n2", 12),
            pod("n3", 12)
        );
        let mut inputs = Inputs::default();
        inputs.add_text("raw.json", &text).unwrap();
        let pods = inputs.summaries();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].node.as_deref(), Some("n2"));
        // A kind-less item in a plain List is still an error.
        let err = inputs
            .add_text(
                "l.json",
                "{\"kind\":\"List\",\"items\":[{\"metadata\":{}}]}",
            )
            .unwrap_err();
        assert!(err.message.contains("no \"kind\""), "{err}");
    }

    #[test]
    fn owners_in_the_input_beat_the_naming_rules() {
        // Names chosen so the naming rules would give a different answer: ReplicaSet
        // web-7d4b9c owned by Deployment frontend (the rule says Deployment web), Job
        // nightly-manual owned by CronJob nightly (the rule says Job nightly-manual), a
        // ReplicaSet api-5f6c7 with no owner (the rule says Deployment api).
        let pod = |name: &str, kind: &str, owner: &str| {
            format!(
                "{{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"ns\",\"uid\":\"{name}\",\"ownerReferences\":[{{\"apiVersion\":\"apps/v1\",\"kind\":\"{kind}\",\"name\":\"{owner}\",\"uid\":\"o-{owner}\",\"controller\":true}}]}},\"spec\":{{\"containers\":[]}}}}"
            )
        };
        let owned = |kind: &str, name: &str, okind: &str, oname: &str| {
            format!(
                "{{\"kind\":\"{kind}\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"ns\",\"ownerReferences\":[{{\"apiVersion\":\"apps/v1\",\"kind\":\"{okind}\",\"name\":\"{oname}\",\"uid\":\"x\",\"controller\":true}}]}}}}"
            )
        };
        let text = format!(
            "{{\"kind\":\"List\",\"items\":[{},{},{},{},{},{{\"kind\":\"ReplicaSet\",\"metadata\":{{\"name\":\"api-5f6c7\",\"namespace\":\"ns\"}}}}]}}",
            pod("web-7d4b9c-abcde", "ReplicaSet", "web-7d4b9c"),
            pod("nightly-manual-xyz12", "Job", "nightly-manual"),
            pod("api-5f6c7-qwert", "ReplicaSet", "api-5f6c7"),
            owned("ReplicaSet", "web-7d4b9c", "Deployment", "frontend"),
            owned("Job", "nightly-manual", "CronJob", "nightly"),
        );
        let mut inputs = Inputs::default();
        inputs.add_text("owners.json", &text).unwrap();
        let workloads: Vec<(String, String, String)> = inputs
            .summaries()
            .into_iter()
            .map(|p| (p.key.name, p.workload.kind, p.workload.name))
            .collect();
        let expect = |pod: &str, kind: &str, name: &str| (pod.into(), kind.into(), name.into());
        assert_eq!(
            workloads,
            vec![
                expect("web-7d4b9c-abcde", "Deployment", "frontend"),
                expect("nightly-manual-xyz12", "CronJob", "nightly"),
                expect("api-5f6c7-qwert", "ReplicaSet", "api-5f6c7"),
            ]
        );
    }

    #[test]
    fn empty_input_is_an_error() {
        let mut inputs = Inputs::default();
        assert!(inputs.add_text("-", "  \n").is_err());
    }
}
