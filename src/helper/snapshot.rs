//! The console's side of `ktui-helper snapshot`: the command it execs in the helper pod for a
//! live snapshot of one container (the tar comes back on that exec's stdout).

use super::manifest::BINARY;

/// What the console knows about the container to snapshot; recorded in `snapshot.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotRequest {
    /// The runtime's id (hex, without the `containerd://` prefix).
    pub container_id: String,
    /// `containerd`, `cri-o`, `docker` (the prefix of the status id).
    pub runtime: Option<String>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    pub pod_uid: Option<String>,
    pub container: Option<String>,
    pub image: Option<String>,
    /// The status `imageID` (digest reference).
    pub image_ref: Option<String>,
    /// When the container started (RFC 3339 UTC, the status `startedAt`).
    pub created: Option<String>,
    pub max_memory_bytes: Option<u64>,
    pub max_rootfs_bytes: Option<u64>,
}

impl SnapshotRequest {
    /// From a container status id (`containerd://4f1b...`, `cri-o://...`): None when the id
    /// is not 12 to 128 hexadecimal digits (a container not started yet has none).
    pub fn from_status_id(status_id: &str) -> Option<SnapshotRequest> {
        let (runtime, id) = match status_id.split_once("://") {
            Some((rt, id)) => (Some(rt.to_string()), id),
            None => (None, status_id),
        };
        let ok = (12..=128).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_hexdigit());
        ok.then(|| SnapshotRequest {
            container_id: id.to_ascii_lowercase(),
            runtime,
            ..SnapshotRequest::default()
        })
    }

    /// The argv to exec in the helper container. Every value is its own `--flag=value`
    /// element (no shell; a value starting with `-` stays a value).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            BINARY.to_string(),
            "snapshot".to_string(),
            "--bulk".to_string(),
            format!("--container-id={}", self.container_id),
        ];
        let text = [
            ("runtime", &self.runtime),
            ("pod", &self.pod),
            ("namespace", &self.namespace),
            ("pod-uid", &self.pod_uid),
            ("container", &self.container),
            ("image", &self.image),
            ("image-ref", &self.image_ref),
            ("created", &self.created),
        ];
        for (flag, value) in text {
            if let Some(v) = value {
                argv.push(format!("--{flag}={v}"));
            }
        }
        for (flag, value) in [
            ("max-memory-bytes", self.max_memory_bytes),
            ("max-rootfs-bytes", self.max_rootfs_bytes),
        ] {
            if let Some(v) = value {
                argv.push(format!("--{flag}={v}"));
            }
        }
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    #[test]
    fn status_ids_and_argv() {
        let r = SnapshotRequest::from_status_id(&format!("containerd://{CID}")).unwrap();
        assert_eq!(
            (r.container_id.as_str(), r.runtime.as_deref()),
            (CID, Some("containerd"))
        );
        assert_eq!(
            SnapshotRequest::from_status_id(&format!("cri-o://{}", CID.to_uppercase()))
                .unwrap()
                .container_id,
            CID
        );
        assert!(SnapshotRequest::from_status_id("containerd://").is_none());
        assert!(SnapshotRequest::from_status_id("docker://not-hex-at-all").is_none());
        let req = SnapshotRequest {
            pod: Some("web-0".into()),
            namespace: Some("shop".into()),
            image: Some("-weird".into()),
            max_memory_bytes: Some(1 << 20),
            ..r
        };
        assert_eq!(
            req.argv(),
            [
                "/ktui-helper",
                "snapshot",
                "--bulk",
                &format!("--container-id={CID}"),
                "--runtime=containerd",
                "--pod=web-0",
                "--namespace=shop",
                "--image=-weird",
                "--max-memory-bytes=1048576",
            ]
        );
    }
}
