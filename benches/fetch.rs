//! Fetch throughput: a 1 GiB file staged on the "node" comes to this machine through the real
//! `ktui-helper fetch` exec'd by the fake API server (HTTPS + WebSocket on loopback, served from
//! a separate process, as an API server is), received by `ktui::fetch::fetch_file` over the
//! real `KubeCluster` exec (hash verified, fsynced, renamed) — side by side, in the same run,
//! with `kubectl exec POD -- cat FILE > out` through the same server. Also the helper alone
//! (`ktui-helper fetch FILE > /dev/null`), to tell where the time goes.
//!
//! Run: `cargo bench --bench fetch` (`KTUI_FETCH_BENCH_MIB` changes the size, `KTUI_KUBECTL`
//! the kubectl; figures go to benches/README.md by hand).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ktui::cluster::PodKey;
use ktui::cluster::kube::{ConnectOptions, KubeCluster};
use ktui::helper::manifest::{BINARY, CONTAINER};

const RUNS: usize = 3;
const NAMESPACE: &str = "ktui-system";
const POD: &str = "ktui-helper-node-1";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(Path::new(&args[i + 1]));
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("fetch bench: run with `cargo bench --bench fetch`");
        return;
    }
    ktui::tls::install_crypto_provider();
    let mib: u64 = std::env::var("KTUI_FETCH_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::Builder::new()
        .prefix("ktui-fetch-bench")
        .tempdir_in(std::env::var_os("KTUI_FETCH_BENCH_DIR").unwrap_or_else(|| "/tmp".into()))
        .unwrap();
    let node = dir.path().join("checkpoints");
    std::fs::create_dir_all(&node).unwrap();
    let file = node.join("checkpoint-bench.tar");
    stage(&file, mib << 20);
    let helper = release_helper();
    let wrapper = dir.path().join("helper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexport KTUI_CHECKPOINT_DIR='{}'\nexec '{}' \"$@\"\n",
            node.display(),
            helper.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bytes = mib << 20;
    println!(
        "file: {} ({mib} MiB), helper {}",
        file.display(),
        helper.display()
    );

    // The fake API server in its own process.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &wrapper.display().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let kubeconfig = PathBuf::from(line.trim());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cluster = rt.block_on(async {
        KubeCluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig.clone()),
            ..ConnectOptions::default()
        })
        .await
        .unwrap()
    });
    let kubectl = std::env::var("KTUI_KUBECTL").unwrap_or_else(|_| "/usr/bin/kubectl".into());
    let out = dir.path().join("out");
    let mut results: Vec<(&str, Vec<f64>)> = vec![
        ("helper alone: ktui-helper fetch FILE > /dev/null", vec![]),
        ("ktui fetch_file through the fake API server's exec", vec![]),
        ("kubectl exec POD -- cat FILE > out, same server", vec![]),
    ];
    for run in 0..RUNS {
        let t = Instant::now();
        let st = Command::new(&helper)
            .args(["fetch", &file.display().to_string()])
            .env("KTUI_CHECKPOINT_DIR", &node)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        results[0].1.push(rate(bytes, t.elapsed()));

        let _ = std::fs::remove_dir_all(&out);
        let t = Instant::now();
        let got = rt.block_on(ktui::fetch::fetch_file(
            &cluster,
            PodKey::new(NAMESPACE, POD),
            CONTAINER,
            &file.display().to_string(),
            &out,
            "copy.tar",
            &mut |_, _| {},
        ));
        let took = t.elapsed();
        let got = got.unwrap();
        assert_eq!(got.bytes, bytes);
        assert_eq!(got.resumes, 0);
        results[1].1.push(rate(bytes, took));
        let _ = std::fs::remove_dir_all(&out);

        let t = Instant::now();
        let copy = std::fs::File::create(dir.path().join("kubectl.out")).unwrap();
        let st = Command::new(&kubectl)
            .args(["--kubeconfig", &kubeconfig.display().to_string()])
            .args(["exec", "-n", NAMESPACE, POD, "-c", CONTAINER, "--", "cat"])
            .arg(&file)
            .stdout(copy)
            .status()
            .unwrap();
        let took = t.elapsed();
        assert!(st.success(), "kubectl exec failed");
        let len = std::fs::metadata(dir.path().join("kubectl.out"))
            .unwrap()
            .len();
        assert_eq!(len, bytes, "kubectl copied {len} bytes");
        results[2].1.push(rate(bytes, took));
        let _ = std::fs::remove_file(dir.path().join("kubectl.out"));
        println!("run {} done", run + 1);
    }
    drop(child.stdin.take());
    let _ = child.wait();
    println!("\n{mib} MiB, {RUNS} runs each, alternated (MB/s = 10^6 bytes/s):");
    for (what, rates) in &results {
        let (lo, hi) = rates
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
        println!("  {what}: {lo:.0}-{hi:.0} MB/s");
    }
}

fn rate(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / took.as_secs_f64() / 1e6
}

/// A file of `len` pseudo-random bytes (incompressible; in the page cache after this).
fn stage(path: &Path, len: u64) {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// `target/release/ktui-helper`, built (or brought up to date) first.
fn release_helper() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "ktui-helper",
            "--bin",
            "ktui-helper",
        ])
        .status()
        .unwrap();
    assert!(st.success(), "cargo build --release -p ktui-helper failed");
    dir.join("ktui-helper")
}

/// Child process: the fake API server with a running helper pod whose `/ktui-helper` is the
/// wrapper, until stdin closes.
fn serve(wrapper: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = ktui_fake_apiserver::Store::new();
        store.add_namespace(NAMESPACE);
        store.add_node("node-1", "amd64");
        store.apply(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": NAMESPACE, "uid": "h-1"},
            "spec": {"nodeName": "node-1", "containers": [{"name": CONTAINER, "image": "h"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": CONTAINER, "image": "h", "imageID": "", "ready": true,
                "restartCount": 0, "state": {"running": {}}}]}
        }));
        store.map_exec(BINARY, wrapper);
        let server = ktui_fake_apiserver::FakeApiServer::start(store)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kc = server.write_kubeconfig(dir.path()).unwrap();
        println!("{}", kc.display());
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await
        .unwrap();
        drop(server);
    });
}
