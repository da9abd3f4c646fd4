//! `ktui export POD --demo`: the pod's evidence is collected into the case and only that pod is
//! packaged. The bundle verifies (`ktui verify`, `sha256sum -c SHA256SUMS` after `tar xzf`); the
//! Secret the pod reads is in it as an HMAC keyed with the case's secrets.key, never its value,
//! unless `--include-secrets` was confirmed (then the value, and a custody line saying so); what
//! could not be collected (a previous log that does not exist) is in manifest.json.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{Cluster, ObjectRef};
use sha2::Sha256;

const POD: &str = "checkout-6c9f8b7d54-7fb9x";

struct Env {
    tmp: tempfile::TempDir,
    pubkey: PathBuf,
    key: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let (_, files) = ktui::sign::create_key_pair(
            &tmp.path().join("keys"),
            None,
            ktui::sign::KdfLimits::MINISIGN,
        )
        .unwrap();
        Env {
            pubkey: files.public_key,
            key: files.key,
            tmp,
        }
    }

    fn cases(&self) -> PathBuf {
        self.tmp.path().join("cases")
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }

    /// `ktui export ARGS --demo --out OUT --sign-key KEY`, stdin not a terminal.
    fn export(&self, args: &[&str], confirm: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ktui"));
        cmd.arg("export")
            .args(args)
            .arg("--demo")
            .arg("--out")
            .arg(self.out())
            .arg("--sign-key")
            .arg(&self.key)
            .env("KTUI_CASES_DIR", self.cases())
            .env("XDG_CONFIG_HOME", self.tmp.path().join("config"))
            .env_remove("KTUI_SIGNING_KEY")
            .env_remove("KTUI_CONFIRM_SECRETS")
            .stdin(Stdio::null());
        if let Some(c) = confirm {
            cmd.env("KTUI_CONFIRM_SECRETS", c);
        }
        cmd.output().unwrap()
    }

    fn verify(&self, bundle: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ktui"))
            .args(["verify", bundle, "--pubkey"])
            .arg(&self.pubkey)
            .output()
            .unwrap()
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The bundle path (the first stdout line), checked and extracted: (bundle, extracted dir).
fn extract(env: &Env, out: &Output) -> (String, PathBuf) {
    assert!(out.status.success(), "{}", text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let bundle = stdout.lines().next().unwrap().to_string();
    let name = Path::new(&bundle)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let stem = name.trim_end_matches(".tar.gz").to_string();
    assert!(stem.starts_with("ktui-shop-"), "{name}");
    let verified = env.verify(&bundle);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).starts_with("OK "), "{}", text(&verified));
    let (ok, said) = common::run_in(&env.out(), "tar", &["xzf", &name]);
    assert!(ok, "tar: {said}");
    let dir = env.out().join(&stem);
    let (ok, said) = common::run_in(&dir, "sha256sum", &["-c", "SHA256SUMS"]);
    assert!(ok, "sha256sum -c SHA256SUMS: {said}");
    (bundle, dir)
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The value of `key` in the demo's Secret `name` (namespace shop), through the cluster seam.
async fn demo_secret(name: &str, key: &str) -> Vec<u8> {
    let secret = DemoCluster::fixed()
        .get_json(ObjectRef::new("v1", "Secret", Some("shop"), name))
        .await
        .unwrap();
    let b64 = secret["data"][key].as_str().unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn hmac_hex(key: &[u8], value: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(value);
    hex::encode(mac.finalize().into_bytes())
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn skip() -> bool {
    common::skip_unless(
        "export_pod (tar, sha256sum)",
        common::missing_tool(&["tar", "sha256sum"]),
    )
}

#[tokio::test]
async fn a_demo_pod_exports_with_secret_hmacs_never_values() {
    if skip() {
        return;
    }
    let env = Env::new();
    let out = env.export(&[POD, "-n", "shop", "--case", "inc-1"], None);
    let (_, dir) = extract(&env, &out);
    let files = tree(&dir);
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let pod_dir = format!("artifacts/shop/{POD}");
    for want in [
        "pod.json",
        "owners.json",
        "events.json",
        "logs/checkout.log",
        "logs/checkout.previous.log",
        "configmaps/checkout-config.json",
        "secrets/checkout-db.json",
        "secrets/checkout-db-tls.json",
    ] {
        assert!(
            names.contains(&format!("{pod_dir}/{want}")),
            "{want} missing from {names:?}"
        );
    }
    assert!(names.contains(&"artifacts/nodes/demo-node-1/node.json".to_string()));
    assert!(
        !names.iter().any(|n| n.contains("secrets.key")),
        "{names:?}"
    );

    // The value is nowhere in the extracted tree (plain or base64); its HMAC, keyed with the
    // case's secrets.key, is.
    let url = demo_secret("checkout-db", "url").await;
    let tls_key = demo_secret("checkout-db-tls", "tls.key").await;
    let unread = demo_secret("checkout-db", "admin-url").await;
    let key = std::fs::read(env.cases().join("inc-1/secrets.key")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (path, bytes) in &files {
        for value in [&url, &tls_key, &unread] {
            assert!(
                !contains(bytes, value),
                "a Secret value in {}",
                path.display()
            );
            assert!(
                !contains(bytes, b64.encode(value).as_bytes()),
                "a base64 Secret value in {}",
                path.display()
            );
        }
    }
    let all: Vec<u8> = files.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(
        contains(&all, hmac_hex(&key, &url).as_bytes()),
        "HMAC of url"
    );
    assert!(
        contains(&all, hmac_hex(&key, &tls_key).as_bytes()),
        "HMAC of tls.key"
    );
    assert!(
        !contains(&all, hmac_hex(&key, &unread).as_bytes()),
        "a key the pod does not read is not recorded"
    );
    let pod_json = std::fs::read_to_string(dir.join(format!("{pod_dir}/pod.json"))).unwrap();
    assert!(!pod_json.contains("managedFields"), "{pod_json}");
    assert!(pod_json.contains("secretKeyRef"), "{pod_json}");
    let custody = std::fs::read_to_string(dir.join("custody.jsonl")).unwrap();
    assert!(!custody.contains("include_secrets"), "{custody}");
    let m = manifest(&dir);
    assert_eq!(m["case_id"], "inc-1");
    assert!(
        m["unavailable"].as_array().unwrap().is_empty(),
        "{}",
        m["unavailable"]
    );

    // A second pod into the same case: its bundle holds it alone, and still verifies (the
    // whole custody chain names the other pod's artifacts too, which is fine).
    let out = env.export(
        &["frontend-84c9d7e6f5-uvwxy", "-n", "shop", "--case", "inc-1"],
        None,
    );
    let (_, dir) = extract(&env, &out);
    let names: Vec<String> = tree(&dir)
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.contains(POD)), "{names:?}");
    assert!(
        names.contains(
            &"artifacts/shop/frontend-84c9d7e6f5-uvwxy/logs/metrics-agent.previous.log".to_string()
        ),
        "{names:?}"
    );
    // Its main container never restarted: no previous log, and the manifest says so.
    let m = manifest(&dir);
    let unavailable = m["unavailable"].as_array().unwrap();
    let web = unavailable
        .iter()
        .find(|u| u["what"] == "logs/web.previous.log")
        .unwrap_or_else(|| panic!("{unavailable:?}"));
    assert!(
        web["why"]
            .as_str()
            .unwrap()
            .contains("no previous terminated instance"),
        "{web}"
    );
    assert!(
        text(&out).contains("left out logs/web.previous.log"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn include_secrets_writes_values_only_when_confirmed() {
    if skip() {
        return;
    }
    let env = Env::new();
    // No terminal, no KTUI_CONFIRM_SECRETS: refused before anything is collected.
    for confirm in [None, Some("no")] {
        let out = env.export(
            &[POD, "-n", "shop", "--case", "inc-2", "--include-secrets"],
            confirm,
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains("KTUI_CONFIRM_SECRETS=yes"),
            "{}",
            text(&out)
        );
        assert!(!env.cases().join("inc-2").exists(), "nothing collected");
    }

    let out = env.export(
        &[POD, "-n", "shop", "--case", "inc-2", "--include-secrets"],
        Some("yes"),
    );
    let (_, dir) = extract(&env, &out);
    let url = demo_secret("checkout-db", "url").await;
    let record =
        std::fs::read(dir.join(format!("artifacts/shop/{POD}/secrets/checkout-db.json"))).unwrap();
    assert!(
        contains(&record, &url),
        "{}",
        String::from_utf8_lossy(&record)
    );
    let unread = demo_secret("checkout-db", "admin-url").await;
    assert!(!contains(&record, &unread), "only the keys the pod reads");
    let custody = std::fs::read_to_string(dir.join("custody.jsonl")).unwrap();
    let line = custody
        .lines()
        .find(|l| l.contains("\"action\":\"include_secrets\""))
        .unwrap_or_else(|| panic!("{custody}"));
    assert!(
        line.contains(&format!("\"target\":\"shop/{POD}\"")),
        "{line}"
    );
}

#[test]
fn a_pod_that_does_not_exist_fails_naming_it() {
    let env = Env::new();
    let out = env.export(&["no-such-pod", "-n", "shop"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cannot read pod shop/no-such-pod"),
        "{}",
        text(&out)
    );
    assert!(!env.out().exists(), "no bundle");
    assert!(!env.cases().exists(), "no case either");
}
