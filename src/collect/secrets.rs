//! What the case keeps of a referenced Secret (pure): per key the pod reads, its name, key,
//! uid, resourceVersion and an HMAC-SHA256 of the value keyed with the case's `secrets.key`,
//! never the value — unless values were asked for (`--include-secrets`, confirmed). Nothing
//! else of the Secret is kept: its annotations may hold `kubectl apply`'s copy of the values.

use base64::Engine as _;
use serde_json::{Value, json};

use super::refs::Keys;

/// How the HMAC in a record was made (said in the record itself, for whoever reads it later).
pub const HMAC_NOTE: &str = "hmac_sha256: HMAC-SHA256 of the decoded value, keyed with the case's secrets.key (kept in the case, never exported): whoever holds the case can check which value was mounted; the bundle alone does not let anyone guess it";

/// A Secret's record, and the keys the pod reads that it does not have.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretRecord {
    pub json: Value,
    pub missing: Vec<String>,
}

/// The record of `secret` (as the API returns it) for the `keys` a pod reads; values only with
/// `include_values` (UTF-8 as `value`, other bytes as `value_base64`).
pub fn record(
    secret: &Value,
    keys: &Keys,
    include_values: bool,
    hmac: impl Fn(&[u8]) -> String,
) -> SecretRecord {
    let meta = |k: &str| secret.pointer(&format!("/metadata/{k}")).cloned();
    let (name, uid, rv) = (meta("name"), meta("uid"), meta("resourceVersion"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = secret.get("data").and_then(Value::as_object);
    let mut out = Vec::new();
    for (key, encoded) in data.into_iter().flatten() {
        if !keys.has(key) {
            continue;
        }
        // The API sends base64; a value that is not (never from a real server) is hashed as is.
        let raw = encoded.as_str().unwrap_or_default();
        let value = b64.decode(raw).unwrap_or_else(|_| raw.as_bytes().to_vec());
        let mut entry = json!({
            "name": name,
            "key": key,
            "uid": uid,
            "resourceVersion": rv,
            "hmac_sha256": hmac(&value),
        });
        if include_values {
            match std::str::from_utf8(&value) {
                Ok(text) => entry["value"] = json!(text),
                Err(_) => entry["value_base64"] = json!(raw),
            }
        }
        out.push(entry);
    }
    let missing = match keys {
        Keys::All => Vec::new(),
        Keys::Some(wanted) => wanted
            .iter()
            .filter(|k| data.is_none_or(|d| !d.contains_key(*k)))
            .cloned()
            .collect(),
    };
    SecretRecord {
        json: json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "namespace": meta("namespace"),
            "name": name,
            "uid": uid,
            "resourceVersion": rv,
            "type": secret.get("type"),
            "values_included": include_values,
            "note": HMAC_NOTE,
            "keys": out,
        }),
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "db", "namespace": "shop", "uid": "u-1", "resourceVersion": "42",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4=", "bin": "/w=="}
        })
    }

    /// Stands in for the case's HMAC: a function of the value that does not show it.
    fn fake_hmac(v: &[u8]) -> String {
        crate::evidence::sha256_hex(v)
    }

    #[test]
    fn keeps_hmacs_of_the_keys_read_never_values() {
        let keys = Keys::Some(["password".to_string(), "absent".to_string()].into());
        let r = record(&secret(), &keys, false, fake_hmac);
        let text = r.json.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("aHVudGVyMg"),
            "{text}"
        );
        assert!(
            !text.contains("admin") && !text.contains("last-applied"),
            "{text}"
        );
        let k = &r.json["keys"][0];
        assert_eq!(k["hmac_sha256"], fake_hmac(b"hunter2"));
        assert_eq!(
            (&k["name"], &k["key"], &k["uid"], &k["resourceVersion"]),
            (
                &json!("db"),
                &json!("password"),
                &json!("u-1"),
                &json!("42")
            )
        );
        assert_eq!(r.json["keys"].as_array().map(Vec::len), Some(1));
        assert_eq!(r.missing, ["absent"]);
        assert_eq!(r.json["values_included"], false);
    }

    #[test]
    fn values_only_when_asked() {
        let r = record(&secret(), &Keys::All, true, fake_hmac);
        let keys = r.json["keys"].as_array().cloned().unwrap_or_default();
        assert_eq!(keys.len(), 3);
        let by = |k: &str| {
            keys.iter()
                .find(|e| e["key"] == k)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(by("password")["value"], "hunter2");
        assert_eq!(by("bin")["value_base64"], "/w==");
        assert!(r.missing.is_empty());
    }
}
