//! Reading kubeconfig files with errors that name the file, line, column and key — never a
//! value (a parse error near `token:` must not print the token, as the YAML parser's snippet does).

use std::path::{Path, PathBuf};

use kube::config::{Kubeconfig, KubeconfigError};

use crate::sanitize;

/// A kubeconfig that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeconfigLoadError {
    #[error("cannot read kubeconfig {}: {cause}", shown(.path))]
    Unreadable { path: PathBuf, cause: String },
    /// A YAML or shape error; `key` is the dotted path of the key at the error (`users[].user.token`).
    #[error("kubeconfig {}:{line}:{column}{}: {problem}", shown(.path), key_words(.key))]
    Malformed {
        path: PathBuf,
        line: u64,
        column: u64,
        key: Option<String>,
        problem: String,
    },
    /// Merging several files failed (kind or apiVersion mismatch).
    #[error("cannot merge the kubeconfig files {}: {cause}", .paths.iter().map(|p| shown(p)).collect::<Vec<_>>().join(", "))]
    Merge { paths: Vec<PathBuf>, cause: String },
    #[error(
        "no kubeconfig: {0} does not exist and ktui does not run in a pod (no service account); pass --kubeconfig PATH or set KUBECONFIG"
    )]
    Missing(String),
}

fn shown(path: &Path) -> String {
    sanitize::line(&path.display().to_string()).into_owned()
}

fn key_words(key: &Option<String>) -> String {
    key.as_ref()
        .map(|k| format!(" (key {})", sanitize::line(k)))
        .unwrap_or_default()
}

/// The kubeconfig kubectl would use: `path` if given, else `$KUBECONFIG` (several files merged,
/// the first to set a value wins), else `~/.kube/config`.
pub fn load(path: Option<&Path>) -> Result<Kubeconfig, KubeconfigLoadError> {
    if let Some(path) = path {
        return read_file(path);
    }
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            let mut merged = Kubeconfig::default();
            for p in &paths {
                merged = merged
                    .merge(read_file(p)?)
                    .map_err(|e| KubeconfigLoadError::Merge {
                        paths: paths.clone(),
                        cause: e.to_string(),
                    })?;
            }
            return Ok(merged);
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let default = home.map(|h| h.join(".kube").join("config"));
    match default {
        Some(p) if p.exists() => read_file(&p),
        Some(p) => Err(KubeconfigLoadError::Missing(shown(&p))),
        None => Err(KubeconfigLoadError::Missing("~/.kube/config".to_string())),
    }
}

fn read_file(path: &Path) -> Result<Kubeconfig, KubeconfigLoadError> {
    match Kubeconfig::read_from(path) {
        Ok(k) => Ok(k),
        Err(KubeconfigError::Parse(e)) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            Err(KubeconfigLoadError::Malformed {
                path: path.to_path_buf(),
                line,
                column,
                key: key_at(&text, line),
                problem: problem_of(&e.without_snippet().to_string()),
            })
        }
        Err(KubeconfigError::ReadConfig(e, _)) => Err(KubeconfigLoadError::Unreadable {
            path: path.to_path_buf(),
            cause: e.to_string(),
        }),
        Err(other) => Err(KubeconfigLoadError::Unreadable {
            path: path.to_path_buf(),
            cause: problem_of(&other.to_string()),
        }),
    }
}

/// The parser's description of the problem without anything it quoted from the file (quoted
/// values, the `line L column C` prefix, a snippet) — only words of its own.
fn problem_of(message: &str) -> String {
    let first = message.lines().next().unwrap_or("");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 11 column 10: mapping values are not allowed" → "mapping values are not allowed"
    let first = match first.find(": ") {
        Some(i) if first[..i].starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    // "... at line 11, column 10": the position is said already.
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in first.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '"' | '`' | '\'') => {
                quote = Some(c);
                out.push('…');
            }
            None => out.push(c),
        }
    }
    let out = sanitize::line(out.trim()).into_owned();
    if out.is_empty() {
        "not valid kubeconfig YAML".to_string()
    } else {
        out
    }
}

/// The dotted path of the key on (or last before) 1-based `line`, from indentation alone:
/// `users[].user.token`. Only key names are taken from the file, never values.
pub fn key_at(text: &str, line: u64) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = usize::try_from(line).ok()?.checked_sub(1)?;
    let at = at.min(lines.len().checked_sub(1)?);
    let mut path: Vec<String> = Vec::new();
    let mut indent = usize::MAX;
    // Inside a list item: the next ancestor key holds a list.
    let mut in_item = false;
    for i in (0..=at).rev() {
        let Some((ind, key, item)) = key_of_line(lines[i]) else {
            continue;
        };
        if ind < indent {
            path.push(if in_item { format!("{key}[]") } else { key });
            in_item = item;
            indent = ind;
        } else if ind == indent && item {
            in_item = true;
        }
        if indent == 0 {
            break;
        }
    }
    path.reverse();
    (!path.is_empty()).then(|| path.join("."))
}

/// (indent of the key, key, whether it opens a list item `- key:`).
fn key_of_line(line: &str) -> Option<(usize, String, bool)> {
    let trimmed = line.trim_start();
    let mut indent = line.len() - trimmed.len();
    let (rest, item) = match trimmed.strip_prefix("- ") {
        Some(rest) => {
            indent += 2;
            (rest.trim_start(), true)
        }
        None => (trimmed, false),
    };
    if rest.starts_with('#') {
        return None;
    }
    let end = rest.find(':')?;
    let key = &rest[..end];
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let after = &rest[end + 1..];
    (ok && (after.is_empty() || after.starts_with(' '))).then(|| (indent, key.to_string(), item))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD: &str = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: SECRETTOKEN123abc\n      bad: [\ncontexts: []\n";

    #[test]
    fn parse_errors_name_file_line_key_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            BAD,
            "users:\n- name: u\n  user:\n    token: \"SECRETTOKEN123abc\n",
        ] {
            let path = dir.path().join("config");
            std::fs::write(&path, text).unwrap();
            let e = load(Some(&path)).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("SECRETTOKEN"), "{shown}");
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            assert!(shown.contains("users[].user.token"), "{shown}");
            assert!(
                matches!(e, KubeconfigLoadError::Malformed { line: 4..=7, .. }),
                "{e:?}"
            );
        }
    }

    #[test]
    fn shape_errors_do_not_quote_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "users: SECRETTOKEN123abc\n").unwrap();
        let shown = load(Some(&path)).unwrap_err().to_string();
        assert!(!shown.contains("SECRETTOKEN"), "{shown}");
        assert!(shown.contains(":1:"), "{shown}");
    }

    #[test]
    fn key_paths_from_indentation() {
        assert_eq!(key_at(BAD, 6).as_deref(), Some("users[].user.token"));
        assert_eq!(key_at(BAD, 7).as_deref(), Some("users[].user.token.bad"));
        assert_eq!(key_at(BAD, 4).as_deref(), Some("users[].name"));
        assert_eq!(key_at(BAD, 2).as_deref(), Some("kind"));
        assert_eq!(key_at("", 3), None);
    }
}
