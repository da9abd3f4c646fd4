//! `ktui checkpoint image`: the OCI image archive read back independently (tar crate, SHA-256
//! of every blob), loaded by a real `podman load`, its annotation shown by `podman image
//! inspect`; live snapshots and broken checkpoints refused with nothing left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/ckpt_gen.rs"]
mod ckpt_gen;
mod common;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output};

use ckpt_gen::fixture;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const ANNOTATION: &str = "io.kubernetes.cri-o.annotations.checkpoint.name";

fn ktui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .output()
        .unwrap()
}

fn image(archive: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "checkpoint",
        "image",
        archive.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ktui(&args)
}

fn members(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.insert(name, data);
    }
    out
}

fn blob<'a>(m: &'a BTreeMap<String, Vec<u8>>, digest: &str) -> &'a [u8] {
    let hex = digest.strip_prefix("sha256:").unwrap();
    let data = &m[&format!("blobs/sha256/{hex}")];
    assert_eq!(
        hex::encode(Sha256::digest(data)),
        hex,
        "blob content does not match its digest"
    );
    data
}

#[test]
fn the_oci_layout_holds_the_checkpoint_as_its_single_layer() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ck.tar");
    let run = image(&fixture(), &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let m = members(&out);
    assert_eq!(m["oci-layout"], br#"{"imageLayoutVersion":"1.0.0"}"#);
    let index: Value = serde_json::from_slice(&m["index.json"]).unwrap();
    let desc = &index["manifests"][0];
    assert_eq!(
        desc["annotations"]["org.opencontainers.image.ref.name"],
        "checkpoint-ktapp:latest"
    );
    let manifest_bytes = blob(&m, desc["digest"].as_str().unwrap());
    assert_eq!(desc["size"].as_u64().unwrap(), manifest_bytes.len() as u64);
    let manifest: Value = serde_json::from_slice(manifest_bytes).unwrap();
    assert_eq!(manifest["annotations"][ANNOTATION], "ktapp");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    // The layer is the checkpoint archive itself: its digest is the archive's SHA-256.
    let archive = std::fs::read(fixture()).unwrap();
    let layer = blob(&m, layers[0]["digest"].as_str().unwrap());
    assert_eq!(layer, &archive[..]);
    assert_eq!(layers[0]["size"].as_u64().unwrap(), archive.len() as u64);
    let config: Value =
        serde_json::from_slice(blob(&m, manifest["config"]["digest"].as_str().unwrap())).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"][0], layers[0]["digest"]);
    assert_eq!(config["architecture"], "amd64", "from core-*.img (x86_64)");
    assert_eq!(config["os"], "linux");
    // Its members sit at the layer root, as `buildah add` of the tar puts them.
    let mut layer_tar = tar::Archive::new(layer);
    let names: Vec<String> = layer_tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"config.dump".to_string())
            && names.contains(&"checkpoint/pstree.img".to_string())
    );
    // An existing output is not overwritten.
    let again = image(&fixture(), &out, &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn live_snapshots_and_broken_checkpoints_are_refused_leaving_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snapshot.tar");
    ckpt_gen::write_snapshot(&snap, b"memory");
    let broken = fixture().parent().unwrap().join("broken");
    for (archive, reason) in [
        (snap.clone(), "is a ktui live snapshot, not a CRIU image"),
        (broken.join("no-config-dump-checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar"), "has no config.dump"),
        (broken.join("truncated-checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar"), "truncated"),
    ] {
        let out = dir.path().join("out.tar");
        let run = image(&archive, &out, &[]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert!(!out.exists() && !dir.path().join("out.tar.partial").exists());
    }
    assert!(
        String::from_utf8_lossy(
            &image(&fixture(), &dir.path().join("x.tar"), &["--tag", "bad tag"]).stderr
        )
        .contains("invalid --tag")
    );
}

/// Removes the loaded image however the test ends.
struct Loaded(String);

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rmi", "--force", &self.0])
            .output();
    }
}

fn podman_unavailable() -> Option<String> {
    match Command::new("podman").arg("--version").output() {
        Err(e) => return Some(format!("podman is not installed ({e})")),
        Ok(o) if !o.status.success() => return Some("`podman --version` failed".into()),
        Ok(_) => {}
    }
    match Command::new("id").arg("-u").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => None,
        _ => Some("needs root (rootful podman storage, as CRI-O uses)".into()),
    }
}

#[test]
fn podman_loads_it_and_shows_the_annotation() {
    if common::skip_unless(
        "podman_loads_it_and_shows_the_annotation",
        podman_unavailable(),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ck.tar");
    let tag = format!(
        "localhost/ktui-test-checkpoint-{}:latest",
        std::process::id()
    );
    let run = image(&fixture(), &out, &["--tag", &tag]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let _loaded = Loaded(tag.clone());
    let load = Command::new("podman")
        .args(["load", "-i"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        load.status.success(),
        "podman load: {}",
        String::from_utf8_lossy(&load.stderr)
    );
    let inspect = Command::new("podman")
        .args(["image", "inspect", &tag])
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "podman image inspect: {}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let info: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let info = &info[0];
    assert_eq!(info["Annotations"][ANNOTATION], "ktapp", "{info}");
    let sha = hex::encode(Sha256::digest(std::fs::read(fixture()).unwrap()));
    assert_eq!(info["RootFS"]["Layers"][0], format!("sha256:{sha}"));
    assert_eq!(info["Architecture"], "amd64");
}

#[test]
fn a_gzipped_checkpoint_becomes_the_same_uncompressed_layer() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let archive = std::fs::read(fixture()).unwrap();
    let gz_path = dir.path().join("checkpoint.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&archive).unwrap();
    std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();
    let out = dir.path().join("ck.tar");
    let run = image(&gz_path, &out, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let m = members(&out);
    let sha = hex::encode(Sha256::digest(&archive));
    assert_eq!(m[&format!("blobs/sha256/{sha}")], archive);
}
