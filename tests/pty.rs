//! The real binary in a pseudo-terminal: `ktui --demo`, keys typed, the screen read back through
//! a VT100 parser.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Session {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Every byte the program wrote, for checks on raw output.
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Session {
    fn start(args: &[&str], rows: u16, cols: u16) -> (Session, tempfile::TempDir) {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ktui"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_STATE_HOME", state.path());
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let _master = pty.master; // keep the pty open while reading
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        (
            Session {
                parser,
                writer,
                child,
                raw,
            },
            state,
        )
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
        // Let the program read each burst separately (ESC then a key would read as Alt+key).
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn demo_console_in_a_real_terminal() {
    let (mut s, _state) = Session::start(&["--demo"], 30, 110);
    let screen = s.wait_for("the crash table", |t| {
        t.contains("Crashed pods") && t.contains("checkout") && t.contains("DEMO")
    });
    assert!(screen.contains("OOMKilled"), "{screen}");

    s.send(b"/oom");
    s.send(b"\r");
    s.wait_for("the filter to apply", |t| {
        t.contains("ledger-worker") && !t.contains("checkout-6c9f")
    });

    s.send(b"\r");
    s.wait_for("the detail pane", |t| t.contains("OOMKilled exit code 137"));

    s.send(b"l");
    s.wait_for("previous logs", |t| {
        t.contains("previous instance") && t.contains("heap_mb=1988")
    });

    s.send(b"\x1b");
    s.send(b"\x1b");
    s.send(b"?");
    s.wait_for("help", |t| {
        t.contains("this help (any key closes it)")
            && t.contains("socket events / packets of the pod")
    });
    s.send(b"x");
    s.send(b"q");

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "ktui did not exit on q");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // The terminal is handed back: the alternate screen was left.
    let raw = s.raw.lock().unwrap();
    assert!(
        raw.windows(8).any(|w| w == b"\x1b[?1049l"),
        "alternate screen not left"
    );
}

#[test]
fn escape_sequences_from_logs_never_reach_the_terminal() {
    let (mut s, _state) = Session::start(&["--demo"], 30, 110);
    s.wait_for("the crash table", |t| t.contains("metrics-agent"));
    s.send(b"/metrics-agent");
    s.send(b"\r");
    s.send(b"l");
    s.wait_for("the hostile log", |t| t.contains("injected"));
    let raw = s.raw.lock().unwrap().clone();
    // The OSC title sequence and the clear-screen from the log must not be in the output.
    assert!(
        !raw.windows(4).any(|w| w == b"\x1b]0;"),
        "OSC reached the terminal"
    );
    assert!(!raw.windows(11).any(|w| w == b"owned-title\x07"));
    s.send(b"q");
    s.send(b"q");
    s.child.kill().ok();
}

/// A console killed with SIGKILL loses nothing it showed as kept: the next ktui on the same
/// case exports it and the bundle verifies, holding as many artifacts as the status bar said.
#[test]
fn evidence_survives_a_killed_console() {
    let (mut s, state) = Session::start(&["--demo", "--case", "pty-kill"], 30, 140);
    let screen = s.wait_for("captures kept in the case", |t| {
        t.contains("case pty-kill · ") && !t.contains("case pty-kill · 0 kept")
    });
    let shown: usize = screen
        .split("case pty-kill · ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    s.child.kill().unwrap(); // SIGKILL
    let _ = s.child.wait();

    let keys = state.path().join("keys");
    let (key, files) =
        ktui::sign::create_key_pair(&keys, None, ktui::sign::KdfLimits::MINISIGN).unwrap();
    // What the case indexed before the kill: at least what the screen said it kept.
    let index =
        std::fs::read_to_string(state.path().join("ktui/cases/pty-kill/index.jsonl")).unwrap();
    let indexed: std::collections::BTreeSet<&str> = index
        .lines()
        .filter_map(|l| l.split("\"path\":\"").nth(1)?.split('"').next())
        .filter(|p| p.starts_with("artifacts/"))
        .collect();
    assert!(
        indexed.len() >= shown,
        "{shown} kept on screen, {} indexed:\n{index}",
        indexed.len()
    );
    let out_dir = state.path().join("out");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(["export", "--case", "pty-kill", "--out"])
        .arg(&out_dir)
        .arg("--sign-key")
        .arg(&files.key)
        .env("XDG_STATE_HOME", state.path())
        .env_remove("KTUI_CASES_DIR")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the killed console's case exports: {said}"
    );
    let bundle = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let report =
        ktui::bundle::verify::verify(std::path::Path::new(&bundle), &key.public_key()).unwrap();
    assert!(report.members > indexed.len(), "{report:?}");
}
