//! Reads the helper deploy needs: helper pods, a node's architecture.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::ListParams;

use super::convert;
use crate::cluster::{HELPER_SELECTOR, HelperPod, NodeInfo};

/// A helper pod as listed (owners are not resolved: helper pods have none).
pub fn helper_pod(pod: &Pod) -> HelperPod {
    let meta = &pod.metadata;
    HelperPod {
        summary: convert::pod_summary(pod, &Default::default()),
        labels: meta.labels.clone().unwrap_or_default(),
        annotations: meta.annotations.clone().unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
    }
}

pub fn helper_list_params() -> ListParams {
    ListParams::default().labels(HELPER_SELECTOR)
}

pub async fn list_helper_pods(api: Api<Pod>) -> kube::Result<Vec<HelperPod>> {
    let list = api.list(&helper_list_params()).await?;
    let mut pods: Vec<HelperPod> = list.items.iter().map(helper_pod).collect();
    pods.sort_by(|a, b| a.summary.key.cmp(&b.summary.key));
    Ok(pods)
}

pub fn node_info(node: &Node) -> NodeInfo {
    let labels = node.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).cloned();
    let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
    let nonempty = |s: &String| (!s.is_empty()).then(|| s.clone());
    NodeInfo {
        name: node.metadata.name.clone().unwrap_or_default(),
        architecture: label("kubernetes.io/arch")
            .or_else(|| info.and_then(|i| nonempty(&i.architecture))),
        os: label("kubernetes.io/os").or_else(|| info.and_then(|i| nonempty(&i.operating_system))),
        kernel_version: info.and_then(|i| nonempty(&i.kernel_version)),
        ready: node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status == "True"),
        unschedulable: node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_arch_falls_back_to_node_info() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}},
            "spec": {"unschedulable": true},
            "status": {
                "nodeInfo": {"architecture": "arm64", "kernelVersion": "6.1.0", "operatingSystem": "linux",
                    "bootID": "", "containerRuntimeVersion": "", "kubeProxyVersion": "", "kubeletVersion": "",
                    "machineID": "", "osImage": "", "systemUUID": ""},
                "conditions": [{"type": "Ready", "status": "False"}]
            }
        }))
        .unwrap();
        let info = node_info(&node);
        assert_eq!(info.architecture.as_deref(), Some("arm64"));
        assert_eq!(info.kernel_version.as_deref(), Some("6.1.0"));
        assert_eq!(info.ready, Some(false));
        assert!(info.unschedulable);
    }
}
