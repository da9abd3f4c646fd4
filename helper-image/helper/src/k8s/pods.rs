//! Pod and container names from the node's read-only log directories:
//! `/var/log/pods/<namespace>_<pod>_<uid>/<container>/` and the
//! `/var/log/containers/<pod>_<namespace>_<container>-<container id>.log` symlinks.

use std::path::Path;

/// Names of one pod, from its log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodNames {
    pub namespace: String,
    pub pod: String,
    /// Container directories (container names) under the pod's log directory.
    pub containers: Vec<String>,
}

/// The pod with this UID under `pod_logs` (e.g. /var/log/pods), if it has a log directory.
pub fn pod_names(pod_logs: &Path, uid: &str) -> Option<PodNames> {
    let suffix = format!("_{uid}");
    for entry in std::fs::read_dir(pod_logs).ok()?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(ns_pod) = name.strip_suffix(&suffix) else {
            continue;
        };
        // Namespace and pod names are DNS labels/subdomains: no '_'.
        let Some((namespace, pod)) = ns_pod.split_once('_') else {
            continue;
        };
        if namespace.is_empty() || pod.is_empty() || pod.contains('_') {
            continue;
        }
        let mut containers: Vec<String> = std::fs::read_dir(entry.path())
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        containers.sort();
        return Some(PodNames {
            namespace: namespace.to_string(),
            pod: pod.to_string(),
            containers,
        });
    }
    None
}

/// The container name for `container_id` of pod `pod` in `namespace`: from the
/// /var/log/containers symlink name, else the only container directory of a one-container
/// pod. Never a guess among several.
pub fn container_name(
    container_logs: &Path,
    names: &PodNames,
    container_id: Option<&str>,
) -> Option<String> {
    if let Some(id) = container_id {
        let prefix = format!("{}_{}_", names.pod, names.namespace);
        let suffix = format!("-{id}.log");
        if let Ok(rd) = std::fs::read_dir(container_logs) {
            for entry in rd.flatten() {
                let file = entry.file_name();
                let Some(file) = file.to_str() else { continue };
                if let Some(container) = file
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(&suffix))
                    && !container.is_empty()
                {
                    return Some(container.to_string());
                }
            }
        }
        if names.containers.len() == 1 {
            return names.containers.first().cloned();
        }
    }
    None
}
