//! Pod Security admission, the checks a node helper meets: host namespaces, hostPath volumes,
//! privileged containers, added capabilities, seccomp, and for `restricted` also
//! `allowPrivilegeEscalation` and `runAsNonRoot`. Messages follow kube-apiserver's.

use serde_json::{Map, Value};

/// Capabilities the baseline level allows to add.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .filter_map(|k| spec.get(k).and_then(Value::as_array))
        .flatten()
}

fn name(c: &Value) -> &str {
    c.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// The `violates PodSecurity "LEVEL:latest": ...` reason, or `None` when the pod is admitted.
pub(crate) fn violations(level: &str, pod: &Map<String, Value>) -> Option<String> {
    if level != "baseline" && level != "restricted" {
        return None;
    }
    let spec = pod.get("spec").cloned().unwrap_or(Value::Null);
    let mut out = Vec::new();
    let hosts: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .iter()
        .filter(|k| spec.get(**k) == Some(&Value::Bool(true)))
        .map(|k| format!("{k}=true"))
        .collect();
    if !hosts.is_empty() {
        out.push(format!("host namespaces ({})", hosts.join(", ")));
    }
    let host_paths: Vec<String> = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("hostPath").is_some())
        .map(|v| name(v).to_string())
        .collect();
    if !host_paths.is_empty() {
        out.push(format!(
            "hostPath volumes (volumes {})",
            quoted(&host_paths)
        ));
    }
    for c in containers(&spec) {
        let sc = c.get("securityContext");
        if sc.and_then(|s| s.get("privileged")) == Some(&Value::Bool(true)) {
            out.push(format!(
                "privileged (container \"{}\" must not set securityContext.privileged=true)",
                name(c)
            ));
        }
        let added: Vec<String> = sc
            .and_then(|s| s.get("capabilities"))
            .and_then(|c| c.get("add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|cap| {
                (level == "restricted" && *cap != "NET_BIND_SERVICE")
                    || !BASELINE_CAPS.contains(cap)
            })
            .map(str::to_string)
            .collect();
        if !added.is_empty() {
            out.push(format!(
                "non-default capabilities (container \"{}\" must not include {} in securityContext.capabilities.add)",
                name(c),
                quoted(&added)
            ));
        }
        let seccomp = sc
            .and_then(|s| s.get("seccompProfile"))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str);
        if seccomp == Some("Unconfined") {
            out.push(format!(
                "seccompProfile (container \"{}\" must not set securityContext.seccompProfile.type to \"Unconfined\")",
                name(c)
            ));
        }
        if level == "restricted" {
            if sc.and_then(|s| s.get("allowPrivilegeEscalation")) != Some(&Value::Bool(false)) {
                out.push(format!(
                    "allowPrivilegeEscalation != false (container \"{}\" must set securityContext.allowPrivilegeEscalation=false)",
                    name(c)
                ));
            }
            if sc.and_then(|s| s.get("runAsNonRoot")) != Some(&Value::Bool(true)) {
                out.push(format!(
                    "runAsNonRoot != true (container \"{}\" must set securityContext.runAsNonRoot=true)",
                    name(c)
                ));
            }
        }
    }
    (!out.is_empty()).then(|| {
        format!(
            "violates PodSecurity \"{level}:latest\": {}",
            out.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn baseline_refuses_host_namespaces_and_capabilities() {
        let p = pod(json!({"spec": {"hostPID": true, "hostNetwork": true,
            "volumes": [{"name": "btf", "hostPath": {"path": "/sys/kernel/btf"}}],
            "containers": [{"name": "helper", "securityContext": {"capabilities": {"add": ["BPF", "CHOWN"]}}}]}}));
        let v = violations("baseline", &p).unwrap();
        assert!(v.starts_with("violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true, hostPID=true)"), "{v}");
        assert!(v.contains("hostPath volumes (volumes \"btf\")"), "{v}");
        assert!(v.contains("must not include \"BPF\" in"), "{v}");
        assert!(!v.contains("CHOWN"), "{v}");
        assert_eq!(violations("privileged", &p), None);
    }

    #[test]
    fn plain_pods_pass_baseline() {
        let p = pod(json!({"spec": {"containers": [{"name": "c"}]}}));
        assert_eq!(violations("baseline", &p), None);
        assert!(violations("restricted", &p).is_some());
    }
}
