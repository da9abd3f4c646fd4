//! Conversion between core/v1 `Event` and events.k8s.io/v1 `Event`, so that an
//! event applied in one form is served in both, as kube-apiserver does.

use serde_json::{Map, Value};

/// (core/v1 field, events.k8s.io/v1 field)
const FIELD_MAP: &[(&str, &str)] = &[
    ("metadata", "metadata"),
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reason", "reason"),
    ("type", "type"),
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("related", "related"),
    ("action", "action"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn convert(obj: &Value, api_version: &str, to_v1: bool) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::from(api_version));
    out.insert("kind".into(), Value::from("Event"));
    for (core, v1) in FIELD_MAP {
        let (from, to) = if to_v1 { (core, v1) } else { (v1, core) };
        if let Some(v) = obj.get(*from) {
            out.insert((*to).to_string(), v.clone());
        }
    }
    if !to_v1 && !out.contains_key("involvedObject") {
        // Required in core/v1.
        out.insert("involvedObject".into(), Value::Object(Map::new()));
    }
    Value::Object(out)
}

/// core/v1 → events.k8s.io/v1.
pub(crate) fn core_to_v1(obj: &Value) -> Value {
    convert(obj, "events.k8s.io/v1", true)
}

/// events.k8s.io/v1 → core/v1.
pub(crate) fn v1_to_core(obj: &Value) -> Value {
    convert(obj, "v1", false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips() {
        let core = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-1"},
            "message": "Back-off restarting failed container",
            "reason": "BackOff", "type": "Warning", "count": 3,
            "source": {"component": "kubelet"},
        });
        let v1 = core_to_v1(&core);
        assert_eq!(v1["regarding"]["name"], "web-1");
        assert_eq!(v1["note"], "Back-off restarting failed container");
        assert_eq!(v1["deprecatedCount"], 3);
        assert_eq!(v1_to_core(&v1), core);
    }
}
