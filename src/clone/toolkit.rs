//! The clone's toolkit: an init container from the toolkit image (the helper image, whose
//! `/bin/busybox` is Debian's static busybox) copies busybox into an emptyDir mounted at
//! [`DIR`] and makes its applet links there (hard links: they work whatever the main image
//! holds), so the main containers sleep with `/usr/local/bin/toolkit/sleep infinity` and
//! `kubectl exec ... -- /usr/local/bin/toolkit/sh` works even in a distroless image. It runs as
//! non-root with every capability dropped, no privilege escalation and the RuntimeDefault
//! seccomp profile: Pod Security "restricted" admits it.

use serde_json::{Value, json};

/// Where the toolkit is mounted in every container of the clone.
pub const DIR: &str = "/usr/local/bin/toolkit";
/// The emptyDir volume holding it.
pub const VOLUME: &str = "ktui-toolkit";
/// The init container's name.
pub const CONTAINER: &str = "ktui-toolkit";
/// Where the toolkit image holds busybox.
pub const IMAGE_BUSYBOX: &str = "/bin/busybox";
/// The uid (and gid) the init container runs as: not root, no name needed (the image has no
/// /etc/passwd).
pub const UID: i64 = 65532;

/// The shell line the init container runs (with the image's busybox).
pub fn install_script() -> String {
    format!("{IMAGE_BUSYBOX} cp {IMAGE_BUSYBOX} {DIR}/busybox && {DIR}/busybox --install {DIR}")
}

/// The command a clone's main containers run instead of theirs.
pub fn sleep_command() -> Value {
    json!([format!("{DIR}/sleep"), "infinity"])
}

/// The volume mount every container of the clone gets (read-only for the main containers).
pub fn mount(read_only: bool) -> Value {
    json!({"name": VOLUME, "mountPath": DIR, "readOnly": read_only})
}

/// The emptyDir volume.
pub fn volume() -> Value {
    json!({"name": VOLUME, "emptyDir": {"sizeLimit": "16Mi"}})
}

/// The init container, from `image`.
pub fn init_container(image: &str) -> Value {
    json!({
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": [IMAGE_BUSYBOX, "sh", "-c", install_script()],
        "volumeMounts": [mount(false)],
        "resources": {
            "requests": {"cpu": "10m", "memory": "16Mi"},
            "limits": {"cpu": "100m", "memory": "32Mi"},
        },
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    })
}

/// A warning when the target node may not have `image` (a `localhost/` image exists only
/// where it was built or loaded).
pub fn image_warning(image: &str) -> Option<String> {
    image.starts_with("localhost/").then(|| {
        format!(
            "the toolkit image {image} is a local image: the clone's node must already have it \
             (load it there, or pass --toolkit-image with a registry image)"
        )
    })
}
