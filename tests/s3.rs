//! S3 upload against a real S3-compatible server: `moto_server` (PyPI `moto[server]`, in the
//! venv scripts/test.sh makes; its path in `KTUI_MOTO_SERVER`), started by each test on a free
//! port of 127.0.0.1. The test's own client is the SDK built independently of ktui's.
//!
//! - a bundle bigger than the multipart threshold uploads in parts; the keys are listed, the
//!   archive downloaded, its SHA-256 equals the `.sha256`, and `ktui verify` accepts the copy;
//!   the upload is in custody; `ktui upload --s3-verify` sends it again and reads it back; a
//!   bundle changed on disk is refused and leaves nothing in the bucket;
//! - the server stopped: exit 1, the message names what failed and the retry, the local bundle
//!   is kept and still verifies, custody has an error line;
//! - `--s3-object-lock-days` puts the objects under COMPLIANCE retention (read with HeadObject:
//!   moto has no GetObjectRetention; it also ignores lock headers on multipart uploads, which
//!   ktui detects and fixes with PutObjectRetention).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use ktui::case::{Action, ArtifactMeta, ArtifactPath, Case, CaseConfig, Source};
use sha2::{Digest, Sha256};

const PART: u64 = 5 << 20;

/// A moto_server child on a free port; killed when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    /// None (after saying why) when moto is not installed and this is not CI.
    fn start(test: &str) -> Option<Moto> {
        let bin = std::env::var_os("KTUI_MOTO_SERVER")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let why = match &bin {
            None => Some(
                "KTUI_MOTO_SERVER is not set (scripts/test.sh installs moto_server in a venv)"
                    .to_string(),
            ),
            Some(b) if !b.is_file() => Some(format!("no moto_server at {}", b.display())),
            Some(_) => None,
        };
        if common::skip_unless(test, why) {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin.unwrap())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .endpoint_url(&self.url)
            .force_path_style(true)
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A case, a signing key and the environment the ktui child runs in.
struct Setup {
    tmp: tempfile::TempDir,
    id: &'static str,
    key: PathBuf,
    pubkey: PathBuf,
}

impl Setup {
    /// Case `id` holding a random (incompressible) artifact of `size` bytes and a small log.
    fn new(id: &'static str, size: u64) -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let case = Case::open(
            &tmp.path().join("cases"),
            Some(id),
            &CaseConfig::new("demo", "https://demo"),
        )
        .unwrap();
        let pages = ArtifactMeta::new(
            ArtifactPath::pod("shop", "web-0", "checkpoints/pages.img").unwrap(),
            "application/octet-stream",
            Source::Local,
            Action::Other("capture_checkpoint".into()),
        )
        .for_pod("shop", "web-0", None);
        case.write_artifact_from(&pages, Random(0x9e37_79b9_7f4a_7c15).take(size))
            .unwrap();
        let logs = ArtifactMeta::new(
            ArtifactPath::pod("shop", "web-0", "logs/web.log").unwrap(),
            "text/plain",
            Source::Api("/api/v1/namespaces/shop/pods/web-0/log".into()),
            Action::CaptureLogs,
        )
        .for_pod("shop", "web-0", Some("web"));
        case.write_artifact(&logs, b"panic: connection refused\n")
            .unwrap();
        drop(case);
        let (_, files) = ktui::sign::create_key_pair(
            &tmp.path().join("keys"),
            None,
            ktui::sign::KdfLimits::MINISIGN,
        )
        .unwrap();
        Setup {
            id,
            key: files.key,
            pubkey: files.public_key,
            tmp,
        }
    }

    fn cases(&self) -> PathBuf {
        self.tmp.path().join("cases")
    }

    fn ktui(&self, args: &[&str]) -> Output {
        let aws = self.tmp.path().join("aws");
        Command::new(env!("CARGO_BIN_EXE_ktui"))
            .args(args)
            .arg("--cases-dir")
            .arg(self.cases())
            .env_remove("KTUI_CASES_DIR")
            .env_remove("KTUI_SIGNING_KEY")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env("XDG_CONFIG_HOME", self.tmp.path().join("config"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing-secret-never-printed")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", aws.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", aws.join("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("KTUI_S3_MULTIPART_THRESHOLD", PART.to_string())
            .output()
            .unwrap()
    }

    /// `ktui export --case ID --out OUT --sign-key KEY` + `extra`.
    fn export(&self, extra: &[&str]) -> Output {
        let out = self.tmp.path().join("out").display().to_string();
        let key = self.key.display().to_string();
        let mut args = vec![
            "export",
            "--case",
            self.id,
            "--out",
            &out,
            "--sign-key",
            &key,
        ];
        args.extend_from_slice(extra);
        self.ktui(&args)
    }

    fn verify(&self, bundle: &Path) -> Output {
        let (b, k) = (
            bundle.display().to_string(),
            self.pubkey.display().to_string(),
        );
        self.ktui(&["verify", &b, "--pubkey", &k])
    }

    fn custody(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.cases().join(self.id).join("custody.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// xorshift64: bytes deflate cannot shrink, so the bundle is as big as the artifact.
struct Random(u64);

impl std::io::Read for Random {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
        Ok(buf.len())
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap();
    let mut sha = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    hex::encode(sha.finalize())
}

/// The bundle path `ktui export` printed first.
fn bundle_of(out: &Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.ends_with(".tar.gz"), "{}", text(out));
    PathBuf::from(first)
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}

async fn download(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, to: &Path) {
    let got = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    std::fs::write(to, &bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_above_the_threshold_uploads_in_parts_and_verifies_from_the_bucket() {
    let test = "a_bundle_above_the_threshold_uploads_in_parts_and_verifies_from_the_bucket";
    let Some(moto) = Moto::start(test) else {
        return;
    };
    let s3 = moto.client();
    s3.create_bucket().bucket("evidence").send().await.unwrap();
    // ~12 MiB of random data: three 5 MiB parts (the last one short).
    let setup = Setup::new("incident-s3", 12 << 20);
    let out = setup.export(&["--s3", "s3://evidence/inc", "--s3-endpoint", &moto.url]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    eprintln!("{said}");
    assert!(said.contains("3 parts"), "{said}");
    assert!(said.contains("matches the parts sent"), "{said}");
    assert!(
        !said.contains("testing-secret"),
        "a credential was printed: {said}"
    );
    let bundle = bundle_of(&out);
    let name = bundle.file_name().unwrap().to_str().unwrap().to_string();
    let stamp = name
        .trim_end_matches(".tar.gz")
        .rsplit_once('-')
        .unwrap()
        .1
        .to_string();

    let dir = format!("inc/incident-s3/{stamp}");
    let listed = keys(&s3, "evidence", "inc/").await;
    assert_eq!(
        listed,
        vec![
            format!("{dir}/{name}"),
            format!("{dir}/{name}.minisig"),
            format!("{dir}/{name}.sha256"),
        ]
    );
    // The store's checksum of the archive is the SHA-256 of its three 5 MiB parts' SHA-256s
    // (`-3` after it on AWS; moto leaves the count off).
    let head = s3
        .head_object()
        .bucket("evidence")
        .key(format!("{dir}/{name}"))
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    let local = std::fs::read(&bundle).unwrap();
    let mut of_parts = Sha256::new();
    for part in local.chunks(PART as usize) {
        of_parts.update(Sha256::digest(part));
    }
    use base64::Engine as _;
    let composite = base64::engine::general_purpose::STANDARD.encode(of_parts.finalize());
    let stored = head.checksum_sha256().unwrap();
    assert!(
        stored == composite || stored == format!("{composite}-3"),
        "{stored} vs {composite}"
    );
    assert!(head.content_length().unwrap() > 12 << 20);

    let copy = tempfile::tempdir().unwrap();
    for suffix in ["", ".sha256", ".minisig"] {
        let file = format!("{name}{suffix}");
        download(
            &s3,
            "evidence",
            &format!("{dir}/{file}"),
            &copy.path().join(&file),
        )
        .await;
    }
    let downloaded = copy.path().join(&name);
    let recorded = std::fs::read_to_string(copy.path().join(format!("{name}.sha256"))).unwrap();
    let hash = sha256_file(&downloaded);
    assert_eq!(recorded, format!("{hash}  {name}\n"));
    assert_eq!(hash, sha256_file(&bundle));
    let verified = setup.verify(&downloaded);
    assert!(verified.status.success(), "{}", text(&verified));

    let custody = setup.custody();
    let last = custody.last().unwrap();
    assert_eq!(last["action"], "upload", "{last}");
    assert_eq!(last["result"], "ok");
    assert_eq!(
        last["artifacts"][0]["path"],
        format!("s3://evidence/{dir}/{name}")
    );
    assert_eq!(last["artifacts"][0]["sha256"], hash);

    // `ktui upload` sends the same bundle again, and with --s3-verify reads it back.
    let b = bundle.display().to_string();
    let again = setup.ktui(&[
        "upload",
        &b,
        "--s3",
        "s3://evidence/again",
        "--s3-endpoint",
        &moto.url,
        "--s3-verify",
    ]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains(&format!("read back: sha256 {hash}")),
        "{}",
        text(&again)
    );
    assert_eq!(keys(&s3, "evidence", "again/").await.len(), 3);
    assert_eq!(setup.custody().last().unwrap()["action"], "upload");

    // A bundle changed on disk after its export is refused: nothing is kept in the bucket
    // (the multipart upload is aborted) and the local file is left as it is.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&bundle, &bytes).unwrap();
    let tampered = setup.ktui(&[
        "upload",
        &b,
        "--s3",
        "s3://evidence/tampered",
        "--s3-endpoint",
        &moto.url,
    ]);
    assert_eq!(tampered.status.code(), Some(1), "{}", text(&tampered));
    assert!(
        text(&tampered).contains("no longer matches its .sha256"),
        "{}",
        text(&tampered)
    );
    assert!(keys(&s3, "evidence", "tampered/").await.is_empty());
    let uploads = s3
        .list_multipart_uploads()
        .bucket("evidence")
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads().is_empty(), "{:?}", uploads.uploads());
    assert_eq!(std::fs::read(&bundle).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_fails_the_upload_and_keeps_the_bundle() {
    let test = "a_stopped_server_fails_the_upload_and_keeps_the_bundle";
    let Some(mut moto) = Moto::start(test) else {
        return;
    };
    let s3 = moto.client();
    s3.create_bucket().bucket("evidence").send().await.unwrap();
    moto.stop();
    let setup = Setup::new("incident-down", 6 << 20);
    let started = Instant::now();
    let out = setup.export(&["--s3", "s3://evidence/inc", "--s3-endpoint", &moto.url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    eprintln!("{said}");
    for part in [
        "upload of ",
        "failed",
        "CreateMultipartUpload",
        &moto.url,
        "the bundle is kept at",
        "retry with `ktui upload ",
        "--case incident-down",
    ] {
        assert!(said.contains(part), "no {part:?} in: {said}");
    }
    assert!(
        !said.contains("testing-secret"),
        "a credential was printed: {said}"
    );
    // Retries with backoff, but a bounded wait (seconds here; generous for a loaded machine).
    assert!(started.elapsed() < Duration::from_secs(120));
    let bundle = bundle_of(&out);
    assert!(bundle.is_file());
    let verified = setup.verify(&bundle);
    assert!(verified.status.success(), "{}", text(&verified));
    let custody = setup.custody();
    let last = custody.last().unwrap();
    assert_eq!(last["action"], "upload", "{last}");
    assert_eq!(last["result"], "error");
    assert!(
        last["error"]
            .as_str()
            .unwrap()
            .contains("CreateMultipartUpload"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn object_lock_days_put_the_objects_under_compliance_retention() {
    let test = "object_lock_days_put_the_objects_under_compliance_retention";
    let Some(moto) = Moto::start(test) else {
        return;
    };
    let s3 = moto.client();
    s3.create_bucket()
        .bucket("locked")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    s3.create_bucket().bucket("unlocked").send().await.unwrap();
    let setup = Setup::new("incident-lock", 6 << 20);
    let out = setup.export(&[
        "--s3",
        "s3://locked",
        "--s3-endpoint",
        &moto.url,
        "--s3-object-lock-days",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("COMPLIANCE retention until"),
        "{}",
        text(&out)
    );
    let listed = keys(&s3, "locked", "incident-lock/").await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let now = jiff::Timestamp::now().as_second();
    for key in &listed {
        let head = s3
            .head_object()
            .bucket("locked")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.object_lock_mode(),
            Some(&aws_sdk_s3::types::ObjectLockMode::Compliance),
            "{key}"
        );
        let until = head.object_lock_retain_until_date().unwrap().secs();
        let days = (until - now) as f64 / 86_400.0;
        assert!((2.9..=3.1).contains(&days), "{key}: {days} days");
    }

    // A bucket without object lock: refused before anything is sent, exit 1, bundle kept.
    std::thread::sleep(Duration::from_millis(1100)); // a new bundle name
    let out = setup.export(&[
        "--s3",
        "s3://unlocked",
        "--s3-endpoint",
        &moto.url,
        "--s3-object-lock-days",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    eprintln!("{}", text(&out));
    assert!(
        text(&out).contains("the bundle is kept at"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("bucket unlocked at"), "{}", text(&out));
    assert!(
        text(&out).contains("does not have object lock enabled"),
        "{}",
        text(&out)
    );
    assert!(keys(&s3, "unlocked", "").await.is_empty());
    assert!(bundle_of(&out).is_file());
}
