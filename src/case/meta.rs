//! `case.json`, case ids and where cases live.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::{CaseError, Result};
use super::fsx;

pub const CASE_FILE: &str = "case.json";
pub const SCHEMA: u32 = 1;
/// Default cap on a case's size: 20 GiB.
pub const DEFAULT_SIZE_CAP: u64 = 20 << 30;

/// `case.json` (pinned keys, in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMeta {
    pub schema: u32,
    pub case_id: String,
    #[serde(with = "fsx::ts")]
    pub created: Timestamp,
    pub ktui_version: String,
    pub context: String,
    pub server: String,
    pub demo: bool,
    pub collector: Collector,
    pub clock: Clock,
}

/// Who collects: the local account and host, and the Kubernetes user when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collector {
    pub local_user: String,
    pub host: String,
    /// From the kubeconfig (user name or client-cert CN) or SelfSubjectReview.
    pub kube_user: Option<String>,
}

impl Collector {
    /// This process's user (`$USER`, `$LOGNAME`, else `uid:<n>`) and host name.
    pub fn detect(kube_user: Option<String>) -> Self {
        Collector {
            local_user: local_user(),
            host: hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "unknown-host".to_string()),
            kube_user,
        }
    }
}

fn local_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| !u.is_empty())
        .or_else(|| {
            use std::os::unix::fs::MetadataExt as _;
            std::fs::metadata("/proc/self")
                .ok()
                .map(|m| format!("uid:{}", m.uid()))
        })
        .unwrap_or_else(|| "unknown-user".to_string())
}

/// The clocks at case creation. `offset_ms` = API server `Date` − local clock (positive: the
/// server is ahead); the `Date` header has a resolution of one second, so has the offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    #[serde(with = "fsx::ts")]
    pub local: Timestamp,
    #[serde(with = "fsx::ts::option")]
    pub api_server_date: Option<Timestamp>,
    pub offset_ms: Option<i64>,
}

impl Clock {
    pub fn new(local: Timestamp, api_server_date: Option<Timestamp>) -> Self {
        Clock {
            local,
            api_server_date,
            offset_ms: api_server_date
                .map(|d| (d.as_nanosecond() - local.as_nanosecond()).div_euclid(1_000_000) as i64),
        }
    }
}

/// What opening a case needs from the session.
#[derive(Debug, Clone)]
pub struct CaseConfig {
    /// The kubeconfig context (recorded in case.json at creation, and in every custody line).
    pub context: String,
    /// The API server URL.
    pub server: String,
    pub demo: bool,
    pub collector: Collector,
    /// The API server's `Date` header, read just before opening (recorded at creation).
    pub api_server_date: Option<Timestamp>,
    /// Bytes the case may hold (bundles/ not counted).
    pub size_cap: u64,
}

impl CaseConfig {
    /// The detected local collector, no kube user, not demo, the default cap.
    pub fn new(context: &str, server: &str) -> Self {
        CaseConfig {
            context: context.to_string(),
            server: server.to_string(),
            demo: false,
            collector: Collector::detect(None),
            api_server_date: None,
            size_cap: DEFAULT_SIZE_CAP,
        }
    }

    pub(crate) fn meta(&self, case_id: &str, now: Timestamp) -> CaseMeta {
        CaseMeta {
            schema: SCHEMA,
            case_id: case_id.to_string(),
            created: now,
            ktui_version: env!("CARGO_PKG_VERSION").to_string(),
            context: self.context.clone(),
            server: self.server.clone(),
            demo: self.demo,
            collector: self.collector.clone(),
            clock: Clock::new(now, self.api_server_date),
        }
    }
}

/// The directory holding the cases: `explicit` (`--cases-dir`), else `$KTUI_CASES_DIR`, else
/// `$XDG_STATE_HOME/ktui/cases`, else `~/.local/state/ktui/cases` (else `./ktui-cases`).
pub fn cases_dir(explicit: Option<&Path>) -> PathBuf {
    let env = |v: &str| {
        std::env::var_os(v)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = explicit
        .map(Path::to_path_buf)
        .or_else(|| env("KTUI_CASES_DIR"))
    {
        return dir;
    }
    // XDG: a relative XDG_STATE_HOME is invalid and ignored.
    env("XDG_STATE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|h| h.join(".local/state")))
        .map_or_else(|| PathBuf::from("ktui-cases"), |s| s.join("ktui/cases"))
}

/// Refuse ids that are not a plain, safe directory name.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |reason| CaseError::InvalidId {
        id: id.to_string(),
        reason,
    };
    if id.is_empty() || id.len() > 128 {
        return Err(bad("it must have 1 to 128 characters"));
    }
    if id.starts_with('.') || id.starts_with('-') {
        return Err(bad("it starts with '.' or '-'"));
    }
    if !id.chars().all(is_id_char) {
        return Err(bad("it contains other characters"));
    }
    Ok(())
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// `ktui-<context>-<UTC yyyymmddThhmmssZ>`, the context made file-name safe (other characters
/// become `-`, runs collapsed, at most 64).
pub fn new_id(context: &str, now: Timestamp) -> String {
    let mut safe = String::new();
    for c in context.chars() {
        let c = if is_id_char(c) { c } else { '-' };
        if !(c == '-' && safe.ends_with('-')) {
            safe.push(c);
        }
    }
    let safe: String = safe.trim_matches(['-', '.']).chars().take(64).collect();
    let safe = safe.trim_end_matches(['-', '.']);
    let context = if safe.is_empty() { "none" } else { safe };
    format!("ktui-{context}-{}", now.strftime("%Y%m%dT%H%M%SZ"))
}

/// Read and check `case.json`.
pub fn read_meta(path: &Path) -> Result<CaseMeta> {
    let bytes = std::fs::read(path).map_err(|e| CaseError::io("read", path, path, e))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad_file(path, e))?;
    let schema = value.get("schema").and_then(|s| s.as_u64()).unwrap_or(0);
    if schema > u64::from(SCHEMA) {
        return Err(CaseError::SchemaTooNew {
            path: path.to_path_buf(),
            found: u32::try_from(schema).unwrap_or(u32::MAX),
            supported: SCHEMA,
        });
    }
    serde_json::from_value(value).map_err(|e| bad_file(path, e))
}

fn bad_file(path: &Path, e: serde_json::Error) -> CaseError {
    CaseError::BadFile {
        path: path.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_file_name_safe() {
        let t = Timestamp::new(1_700_000_000, 0).unwrap();
        assert_eq!(new_id("prod", t), "ktui-prod-20231114T221320Z");
        let eks = new_id("arn:aws:eks:eu-west-1:123:cluster/prod", t);
        assert_eq!(
            eks,
            "ktui-arn-aws-eks-eu-west-1-123-cluster-prod-20231114T221320Z"
        );
        assert_eq!(new_id("/../\u{1b}", t), "ktui-none-20231114T221320Z");
        validate_id(&new_id(&"x/".repeat(100), t)).unwrap();
    }

    #[test]
    fn ids_that_escape_or_hide_are_refused() {
        for bad in [
            "",
            "..",
            ".hidden",
            "-rf",
            "a/b",
            "a b",
            "é",
            &"x".repeat(129),
        ] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
        validate_id("INC-1234_db.outage").unwrap();
    }

    #[test]
    fn offset_is_server_minus_local() {
        let local = Timestamp::new(100, 500_000_000).unwrap();
        let server = Timestamp::new(102, 0).unwrap();
        assert_eq!(Clock::new(local, Some(server)).offset_ms, Some(1500));
        assert_eq!(Clock::new(server, Some(local)).offset_ms, Some(-1500));
        assert_eq!(Clock::new(local, None).offset_ms, None);
    }

    #[test]
    fn case_json_keys_are_pinned() {
        let meta = CaseConfig::new("c", "https://s").meta("id", Timestamp::UNIX_EPOCH);
        let value = serde_json::to_value(&meta).unwrap();
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        let want = "schema case_id created ktui_version context server demo collector clock";
        assert_eq!(keys.join(" "), want);
        let clock: Vec<_> = value["clock"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(clock.join(" "), "local api_server_date offset_ms");
        let collector: Vec<_> = value["collector"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(collector.join(" "), "local_user host kube_user");
    }
}
