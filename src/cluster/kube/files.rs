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
use crate::triage::owners::OwnerIndex;

/// A parse or shape error at a position in an input file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
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
            self.add_object(name, text, doc)?;
            count += 1;
        }
        if count == 0 {
            return Err(InputError {
                file: name.to_string(),
                line: 1,
                column: 1,
                message: "no JSON document found (expected a Pod, a PodList or a List)".into(),
            });
        }
        Ok(())
    }

    fn add_object<'a>(
        &mut self,
        name: &str,
        file: &'a str,
        raw: &'a RawValue,
    ) -> Result<(), InputError> {
        let (line0, col0) = position_of(file, raw.get());
        let shift = |e: serde_json::Error| {
            let col = if e.line() == 1 {
                col0 + e.column() - 1
            } else {
                e.column()
            };
            at(name, line0 + e.line() - 1, col, &e)
        };
        let header: Header = serde_json::from_str(raw.get()).map_err(shift)?;
        let kind = header.kind.as_deref().unwrap_or("");
        if let Some(items) = header.items {
            for item in items {
                self.add_object(name, file, item)?;
            }
            return Ok(());
        }
        match kind {
            "Pod" => {
                let pod: Pod = serde_json::from_str(raw.get()).map_err(shift)?;
                self.pods.push(pod);
            }
            "" => {
                return Err(InputError {
                    file: name.to_string(),
                    line: line0,
                    column: col0,
                    message: "object has no \"kind\" (expected a Pod, a PodList or a List)".into(),
                });
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

/// 1-based line and column where `inner` (a slice of `file`) starts.
fn position_of(file: &str, inner: &str) -> (usize, usize) {
    let offset = (inner.as_ptr() as usize).saturating_sub(file.as_ptr() as usize);
    let before = file.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn empty_input_is_an_error() {
        let mut inputs = Inputs::default();
        assert!(inputs.add_text("-", "  \n").is_err());
    }
}
