//! `ktui checkpoint image ARCHIVE -o FILE.tar` (pinned): a CRIU checkpoint packed as an OCI
//! image archive (the `oci-archive` format `podman load` reads) whose single layer holds the
//! checkpoint archive's contents at the layer root — what `buildah add` of the tar into a
//! scratch container and `buildah commit` give — with the annotation
//! `io.kubernetes.cri-o.annotations.checkpoint.name=<container>` that CRI-O restores from.
//!
//! The layer is the checkpoint tar itself, byte for byte (decompressed when it was a .tar.gz):
//! so for the kubelet's plain .tar the layer digest is the archive's own SHA-256, the hash its
//! custody record names. The archive is read twice: once to check it is a complete, safe CRIU
//! checkpoint (the same pass as `inspect`), once to copy it. Live snapshots are refused: they are
//! not CRIU images and cannot be restored.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::inspect::{self, InspectError, Kind, Report};

/// The annotation CRI-O looks for on a checkpoint image (and the ones that go with it).
pub const NAME_ANNOTATION: &str = "io.kubernetes.cri-o.annotations.checkpoint.name";
const RAW_IMAGE_ANNOTATION: &str = "io.kubernetes.cri-o.annotations.checkpoint.rawImageName";
const IMAGE_ID_ANNOTATION: &str = "io.kubernetes.cri-o.annotations.checkpoint.rootfsImageID";
const IMAGE_NAME_ANNOTATION: &str = "io.kubernetes.cri-o.annotations.checkpoint.rootfsImageName";

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";

#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// The CRIU checkpoint archive (as the kubelet, CRI-O or Podman wrote it).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
    /// The OCI image archive to write (an existing file is not overwritten).
    #[arg(short = 'o', long = "output", value_name = "FILE.tar")]
    pub output: PathBuf,
    /// The name `podman load` gives the image (default: checkpoint-<container>:latest).
    #[arg(long, value_name = "NAME")]
    pub tag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Inspect(#[from] InspectError),
    #[error(
        "{archive} is a ktui live snapshot, not a CRIU image: its processes were read while \
         running and it cannot be restored, so no restore image is made from it (`ktui \
         checkpoint inspect` shows what it holds)"
    )]
    Snapshot { archive: String },
    #[error(
        "{archive} has no checkpoint/{missing}: it is not a restorable CRIU checkpoint; \
         checkpoint the container again"
    )]
    NotRestorable {
        archive: String,
        missing: &'static str,
    },
    #[error("{} already exists: choose another -o FILE.tar or remove it", path.display())]
    Exists { path: PathBuf },
    #[error("invalid --tag {tag:?}: {why}")]
    Tag { tag: String, why: &'static str },
    #[error("cannot write {}: {source} (check the directory exists, is writable and has space)", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub tag: String,
    pub container: String,
    pub layer_digest: String,
    pub layer_bytes: u64,
    pub manifest_digest: String,
}

pub fn image_cmd(args: &ImageArgs) -> u8 {
    match build(&args.archive, &args.output, args.tag.as_deref()) {
        Ok(w) => {
            let safe = |t: &str| crate::sanitize::line(t).into_owned();
            println!(
                "wrote {}: OCI image archive {} ({} = {}; layer sha256:{}, {} bytes, manifest \
                 sha256:{})",
                safe(&w.path.display().to_string()),
                safe(&w.tag),
                NAME_ANNOTATION,
                safe(&w.container),
                w.layer_digest,
                w.layer_bytes,
                w.manifest_digest
            );
            println!(
                "load it with `podman load -i {}`, push it to a registry the node pulls from, \
                 and give its name as the image of a container to restore",
                safe(&w.path.display().to_string())
            );
            0
        }
        Err(e) => {
            eprintln!("ktui: {}", crate::sanitize::line(&e.to_string()));
            1
        }
    }
}

/// Checks `archive` is a CRIU checkpoint and writes its image archive to `output`.
pub fn build(archive: &Path, output: &Path, tag: Option<&str>) -> Result<Written, ImageError> {
    let report = inspect::inspect(archive, None)?;
    let name = archive.display().to_string();
    if report.kind == Kind::Snapshot {
        return Err(ImageError::Snapshot { archive: name });
    }
    for (part, missing) in [
        ("checkpoint/inventory.img", "inventory.img"),
        ("checkpoint/pstree.img", "pstree.img"),
    ] {
        if report.absent.iter().any(|a| a == part) {
            return Err(ImageError::NotRestorable {
                archive: name,
                missing,
            });
        }
    }
    let container = report
        .container
        .name
        .clone()
        .or(report.container.engine_name.clone())
        .unwrap_or_else(|| "checkpoint".into());
    let tag = match tag {
        Some(t) => check_tag(t)?,
        None => format!("checkpoint-{}:latest", tag_safe(&container)),
    };
    if output.exists() {
        return Err(ImageError::Exists {
            path: output.to_path_buf(),
        });
    }
    let partial = partial_name(output);
    // Someone else's file (another run's, the user's) is not ours to replace or remove.
    if partial.exists() {
        return Err(ImageError::Write {
            path: partial.clone(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a partial image of that name is there (another `ktui checkpoint image` running, \
                 or left over): remove it or choose another -o",
            ),
        });
    }
    let result = write_archive(archive, &partial, &report, &container, &tag).and_then(|w| {
        fs::rename(&partial, output).map_err(|source| ImageError::Write {
            path: output.to_path_buf(),
            source,
        })?;
        Ok(w)
    });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    let (layer_digest, layer_bytes, manifest_digest) = result?;
    Ok(Written {
        path: output.to_path_buf(),
        tag,
        container,
        layer_digest,
        layer_bytes,
        manifest_digest,
    })
}

fn partial_name(output: &Path) -> PathBuf {
    let mut name = output
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

/// A tag's name part may hold lowercase letters, digits and `._-`.
fn tag_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if s.is_empty() { "container".into() } else { s }
}

fn check_tag(tag: &str) -> Result<String, ImageError> {
    let bad = |why| ImageError::Tag {
        tag: tag.to_string(),
        why,
    };
    if tag.is_empty() || tag.len() > 255 {
        return Err(bad("it must be 1 to 255 characters"));
    }
    if !tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
    {
        return Err(bad(
            "use letters, digits and . _ - / : (e.g. localhost/ktapp-checkpoint:1)",
        ));
    }
    Ok(tag.to_string())
}

type Digests = (String, u64, String);

fn write_archive(
    archive: &Path,
    partial: &Path,
    report: &Report,
    container: &str,
    tag: &str,
) -> Result<Digests, ImageError> {
    let werr = |source| ImageError::Write {
        path: partial.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(partial)
        .map_err(werr)?;
    let mtime = report
        .container
        .checkpointed
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| u64::try_from(t.as_second()).unwrap_or(0));
    let mut out = tar::Builder::new(io::BufWriter::new(file));
    let (layer_digest, layer_bytes) = copy_layer(archive, &mut out, mtime, partial)?;
    let created = report
        .container
        .checkpointed
        .clone()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let config = serde_json::json!({
        "created": created,
        "architecture": report.arch.clone().unwrap_or_else(|| host_arch().to_string()),
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
        "history": [{
            "created": created,
            "created_by": "ktui checkpoint image",
            "comment": format!("CRIU checkpoint of container {container}"),
        }],
    });
    let config = serde_json::to_vec(&config).map_err(|e| werr(io::Error::other(e)))?;
    let config_digest = hex::encode(Sha256::digest(&config));
    let mut annotations = serde_json::Map::new();
    annotations.insert(NAME_ANNOTATION.into(), container.into());
    let c = &report.container;
    for (key, value) in [
        (RAW_IMAGE_ANNOTATION, &c.image),
        (IMAGE_NAME_ANNOTATION, &c.image),
        (IMAGE_ID_ANNOTATION, &c.image_ref),
    ] {
        if let Some(v) = value {
            annotations.insert(key.into(), v.clone().into());
        }
    }
    annotations.insert(
        "org.opencontainers.image.created".into(),
        created.clone().into(),
    );
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": [{"mediaType": LAYER_TYPE, "digest": format!("sha256:{layer_digest}"), "size": layer_bytes}],
        "annotations": annotations,
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| werr(io::Error::other(e)))?;
    let manifest_digest = hex::encode(Sha256::digest(&manifest));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    let index = serde_json::to_vec(&index).map_err(|e| werr(io::Error::other(e)))?;
    let members: [(String, &[u8]); 4] = [
        (format!("blobs/sha256/{config_digest}"), &config),
        (format!("blobs/sha256/{manifest_digest}"), &manifest),
        ("index.json".into(), &index),
        ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#),
    ];
    for (path, data) in members {
        let mut h = header(&path, data.len() as u64, mtime).map_err(werr)?;
        out.append_data(&mut h, &path, data).map_err(werr)?;
    }
    let mut buffered = out.into_inner().map_err(werr)?;
    buffered.flush().map_err(werr)?;
    let file = buffered.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(werr)?;
    Ok((layer_digest, layer_bytes, manifest_digest))
}

fn header(path: &str, size: u64, mtime: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

/// Writes the layer blob first: a header with a placeholder name (the digest is known only
/// after the copy), the archive's tar stream hashed as it is copied, then the header again with
/// the real name and size.
fn copy_layer<W: Write + Seek>(
    archive: &Path,
    out: &mut tar::Builder<W>,
    mtime: u64,
    partial: &Path,
) -> Result<(String, u64), ImageError> {
    let werr = |source| ImageError::Write {
        path: partial.to_path_buf(),
        source,
    };
    let name = archive.display().to_string();
    let (mut reader, _, _) = inspect::open(archive, &name)?;
    let sink = out.get_mut();
    let start = sink.stream_position().map_err(werr)?;
    let placeholder = format!("blobs/sha256/{}", "0".repeat(64));
    sink.write_all(header(&placeholder, 0, mtime).map_err(werr)?.as_bytes())
        .map_err(werr)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(InspectError::Open {
                    archive: name,
                    source,
                }
                .into());
            }
        };
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n]).map_err(werr)?;
        total += n as u64;
    }
    let pad = (512 - total % 512) % 512;
    sink.write_all(&vec![0u8; pad as usize]).map_err(werr)?;
    let digest = hex::encode(hasher.finalize());
    let end = sink.stream_position().map_err(werr)?;
    sink.seek(SeekFrom::Start(start)).map_err(werr)?;
    let real = header(&format!("blobs/sha256/{digest}"), total, mtime).map_err(werr)?;
    sink.write_all(real.as_bytes()).map_err(werr)?;
    sink.seek(SeekFrom::Start(end)).map_err(werr)?;
    Ok((digest, total))
}

/// The OCI name of this machine's architecture (used when no core image names one).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tags_are_valid_image_names() {
        assert_eq!(tag_safe("ktapp"), "ktapp");
        assert_eq!(tag_safe("k8s_Ktapp_pod/x"), "k8s_ktapp_pod-x");
        assert_eq!(tag_safe("..."), "container");
        assert!(check_tag("localhost/x:1").is_ok());
        assert!(check_tag("a b").is_err());
        assert!(check_tag("").is_err());
    }

    #[test]
    fn the_partial_file_sits_next_to_the_output() {
        assert_eq!(
            partial_name(Path::new("/d/img.tar")),
            PathBuf::from("/d/img.tar.partial")
        );
    }
}
