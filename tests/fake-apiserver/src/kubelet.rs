//! A simulated kubelet for pods created through the API: per [`Kubelet`], they become Running
//! and Ready (after a delay), stay Pending with `ErrImagePull`, or are left alone. A pod whose
//! `spec.nodeName` names no Node stays Pending, as no kubelet would pick it up.

use serde_json::{Value, json};

use crate::resources::{NODE, POD};
use crate::store::{Kubelet, Store};
use crate::util;

/// Called after a pod was created through the API.
pub(crate) fn pod_created(store: Store, namespace: &str, name: &str) {
    let mode = store.lock().kubelet;
    let (namespace, name) = (namespace.to_string(), name.to_string());
    let delay = match mode {
        Kubelet::Off => return,
        Kubelet::Run { after } => after,
        Kubelet::ImagePullFails => std::time::Duration::ZERO,
    };
    let run = move || {
        let Some(mut pod) = store.get_res(POD, &namespace, &name) else {
            return;
        };
        let node = pod
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if node.is_empty() || store.get_res(NODE, "", &node).is_none() {
            return;
        }
        pod["status"] = status(&pod, mode);
        store.apply(pod);
    };
    if delay.is_zero() {
        run();
    } else {
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            run();
        });
    }
}

fn status(pod: &Value, mode: Kubelet) -> Value {
    let now = util::now_rfc3339();
    let running = matches!(mode, Kubelet::Run { .. });
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            let digest = util::hex64(util::hash64(&[image.as_bytes()]));
            if running {
                json!({
                    "name": name, "image": image,
                    "imageID": format!("{image}@sha256:{digest}"),
                    "containerID": format!("containerd://{digest}"),
                    "ready": true, "started": true, "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                })
            } else {
                json!({
                    "name": name, "image": image, "imageID": "",
                    "ready": false, "started": false, "restartCount": 0,
                    "state": {"waiting": {
                        "reason": "ErrImagePull",
                        "message": format!("failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": pull access denied, repository does not exist or may require authorization"),
                    }},
                })
            }
        })
        .collect();
    let ready = if running { "True" } else { "False" };
    json!({
        "phase": if running { "Running" } else { "Pending" },
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": ready},
            {"type": "Ready", "status": ready},
        ],
        "hostIP": "10.0.0.10",
        "podIP": "10.0.0.10",
        "startTime": now,
        "containerStatuses": containers,
    })
}
