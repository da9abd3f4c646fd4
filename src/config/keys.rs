//! The keys file (`--keys PATH`, `KTUI_KEYS`): per pane, commands whose keys replace the built-in
//! ones (`src/keymap.rs`).
//!
//! ```toml
//! [table]
//! open_logs = ["L"]
//! quit = ["q", "ctrl-q"]
//! [sockets]
//! toggle_pause = ["P"]
//! ```
//!
//! Sections are `anywhere`, `table`, `detail`, `logs`, `sockets`, `packets`, `notes` and `inspect`; commands are named as in
//! `keymap` (`Command::name`); keys are spelled as [`KEY_SYNTAX`] says. A command given here
//! answers only to the keys given (its built-in ones stop working for it). What is typed into a
//! filter or the command line, and the y / n / Esc of a question, stay as they are.

use std::path::Path;

use crate::keymap::{Command, Conflict, KEY_SYNTAX, Key, Keymaps, PaneKeys};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeysError {
    #[error("cannot read keys file {path}: {error}")]
    Read { path: String, error: String },
    #[error("keys file {path}: {error}")]
    Parse { path: String, error: String },
    #[error("keys file {path}: unknown pane [{pane}] (panes: {known})")]
    UnknownPane {
        path: String,
        pane: String,
        known: String,
    },
    #[error(
        "keys file {path}: '{pane}' must be a section [{pane}] of command = [\"key\", ...] lines"
    )]
    NotASection { path: String, pane: String },
    #[error("keys file {path}: [{pane}] has no command '{command}' (commands: {known})")]
    UnknownCommand {
        path: String,
        pane: String,
        command: String,
        known: String,
    },
    #[error(
        "keys file {path}: [{pane}] {command} must be a list of one or more keys, e.g. {command} = [\"x\", \"ctrl-x\"]"
    )]
    NotKeys {
        path: String,
        pane: String,
        command: String,
    },
    #[error("keys file {path}: [{pane}] {command}: \"{key}\" is not a key: use {KEY_SYNTAX}")]
    BadKey {
        path: String,
        pane: String,
        command: String,
        key: String,
    },
    #[error("keys file {path}: {conflict}")]
    Conflict { path: String, conflict: Conflict },
}

/// Read a keys file: the built-in keymaps with its rebindings, checked for conflicts.
pub fn load(path: &Path) -> Result<Keymaps, KeysError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| KeysError::Read {
        path: name.clone(),
        error: e.to_string(),
    })?;
    parse(&name, &text)
}

/// A keys file's text (`path` names it in errors).
pub fn parse(path: &str, text: &str) -> Result<Keymaps, KeysError> {
    let file: toml::Table = toml::from_str(text).map_err(|e| KeysError::Parse {
        path: path.to_string(),
        error: e.to_string(),
    })?;
    let mut keymaps = Keymaps::default();
    for (pane, value) in &file {
        let Some(section) = value.as_table() else {
            return Err(KeysError::NotASection {
                path: path.to_string(),
                pane: pane.clone(),
            });
        };
        let k = &mut keymaps;
        match pane.as_str() {
            p if p == k.global.map.section => rebind(path, &mut k.global, section)?,
            p if p == k.table.map.section => rebind(path, &mut k.table, section)?,
            p if p == k.detail.map.section => rebind(path, &mut k.detail, section)?,
            p if p == k.logs.map.section => rebind(path, &mut k.logs, section)?,
            p if p == k.sockets.map.section => rebind(path, &mut k.sockets, section)?,
            p if p == k.packets.map.section => rebind(path, &mut k.packets, section)?,
            p if p == k.notes.map.section => rebind(path, &mut k.notes, section)?,
            p if p == k.inspect.map.section => rebind(path, &mut k.inspect, section)?,
            _ => {
                return Err(KeysError::UnknownPane {
                    path: path.to_string(),
                    pane: pane.clone(),
                    known: Keymaps::SECTIONS.join(", "),
                });
            }
        }
    }
    keymaps.check().map_err(|conflict| KeysError::Conflict {
        path: path.to_string(),
        conflict,
    })?;
    Ok(keymaps)
}

/// Apply one section's `command = ["key", ...]` lines (a single string is one key).
fn rebind<C: Command>(
    path: &str,
    pane: &mut PaneKeys<C>,
    section: &toml::Table,
) -> Result<(), KeysError> {
    let pane_name = pane.map.section;
    for (command, value) in section {
        let cmd = C::from_name(command).ok_or_else(|| KeysError::UnknownCommand {
            path: path.to_string(),
            pane: pane_name.to_string(),
            command: command.clone(),
            known: C::ALL
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let not_keys = || KeysError::NotKeys {
            path: path.to_string(),
            pane: pane_name.to_string(),
            command: command.clone(),
        };
        let specs: Vec<&str> = match value {
            toml::Value::String(s) => vec![s.as_str()],
            toml::Value::Array(items) => items
                .iter()
                .map(toml::Value::as_str)
                .collect::<Option<_>>()
                .ok_or_else(not_keys)?,
            _ => return Err(not_keys()),
        };
        if specs.is_empty() {
            return Err(not_keys());
        }
        let mut keys = Vec::new();
        for spec in specs {
            let key = Key::parse(spec).ok_or_else(|| KeysError::BadKey {
                path: path.to_string(),
                pane: pane_name.to_string(),
                command: command.clone(),
                key: spec.to_string(),
            })?;
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        pane.rebind(cmd, keys);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::{Global, Sockets, Table};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn err(text: &str) -> KeysError {
        parse("mine.toml", text).unwrap_err()
    }

    #[test]
    fn the_example_file_rebinds_and_the_old_keys_stop_working() {
        let k = parse(
            "mine.toml",
            "[table]\nopen_logs = [\"L\"]\nquit = [\"q\", \"ctrl-q\"]\n\
             [sockets]\ntoggle_pause = [\"P\"]\n",
        )
        .unwrap();
        assert_eq!(k.table.lookup(&press('L')), Some(Table::OpenLogs));
        assert_eq!(k.table.lookup(&press('l')), None);
        let ctrl_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(k.table.lookup(&ctrl_q), Some(Table::Quit));
        assert_eq!(k.table.lookup(&press('q')), Some(Table::Quit));
        assert_eq!(k.sockets.lookup(&press('P')), Some(Sockets::TogglePause));
        // Both built-in keys of toggle_pause (p, Space) are gone.
        assert_eq!(k.sockets.lookup(&press('p')), None);
        assert_eq!(k.sockets.lookup(&press(' ')), None);
        // Untouched commands keep their keys.
        assert_eq!(k.table.lookup(&press('t')), Some(Table::OpenSockets));
        assert!(
            k.footer(&k.table).contains("L:logs"),
            "{}",
            k.footer(&k.table)
        );
        assert!(k.footer(&k.sockets).starts_with("P:pause"));
    }

    #[test]
    fn anywhere_keys_and_single_strings() {
        let k = parse(
            "mine.toml",
            "[anywhere]\nhelp = \"h\"\nquit = [\"ctrl-q\", \"Ctrl-C\"]\n",
        )
        .unwrap();
        assert_eq!(k.global.lookup(&press('h')), Some(Global::Help));
        assert_eq!(k.global.lookup(&press('?')), None);
        assert!(k.footer(&k.table).starts_with("h:help"));
    }

    #[test]
    fn an_empty_file_is_the_built_in_keys() {
        let k = parse("mine.toml", "").unwrap();
        let d = Keymaps::default();
        assert_eq!(k.footer(&k.table), d.footer(&d.table));
    }

    #[test]
    fn each_mistake_is_named_with_the_file_pane_and_what_is_allowed() {
        let e = err("[tabel]\nquit = [\"q\"]\n");
        assert!(matches!(e, KeysError::UnknownPane { ref pane, .. } if pane == "tabel"));
        let msg = e.to_string();
        assert!(
            msg.contains("mine.toml") && msg.contains("anywhere, table, detail, logs, sockets"),
            "{msg}"
        );

        let e = err("table = 3\n");
        assert!(matches!(e, KeysError::NotASection { .. }), "{e}");

        let e = err("[table]\nopen_log = [\"L\"]\n");
        let msg = e.to_string();
        assert!(
            matches!(e, KeysError::UnknownCommand { ref command, .. } if command == "open_log")
        );
        assert!(
            msg.contains("[table]") && msg.contains("open_logs"),
            "{msg}"
        );

        let e = err("[logs]\nsave = [\"shift-s\"]\n");
        let msg = e.to_string();
        assert_eq!(
            e,
            KeysError::BadKey {
                path: "mine.toml".into(),
                pane: "logs".into(),
                command: "save".into(),
                key: "shift-s".into(),
            }
        );
        assert!(
            msg.contains("ctrl-<letter>") && msg.contains("pgdn"),
            "{msg}"
        );

        for bad in ["save = []", "save = [1]", "save = 1"] {
            let e = err(&format!("[logs]\n{bad}\n"));
            assert!(matches!(e, KeysError::NotKeys { .. }), "{bad}: {e}");
        }

        let e = err("[table]\nopen_logs = [\"d\"]\n");
        assert!(
            matches!(
                e,
                KeysError::Conflict {
                    conflict: Conflict::BoundTwice { pane: "table", .. },
                    ..
                }
            ),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("\"d\"") && msg.contains("open_detail") && msg.contains("open_logs"),
            "{msg}"
        );

        let e = err("[detail]\ntop = [\"ctrl-c\"]\n");
        assert!(
            matches!(
                e,
                KeysError::Conflict {
                    conflict: Conflict::ShadowsAnywhere { pane: "detail", .. },
                    ..
                }
            ),
            "{e}"
        );

        let e = err("[anywhere]\nquit = [\"Q\"]\n");
        assert!(
            matches!(
                e,
                KeysError::Conflict {
                    conflict: Conflict::QuitWhileTyping { .. },
                    ..
                }
            ),
            "{e}"
        );

        let e = err("[table\n");
        assert!(matches!(e, KeysError::Parse { .. }), "{e}");
    }

    #[test]
    fn an_unreadable_file_is_named() {
        let e = load(Path::new("/nonexistent/ktui-keys.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ktui-keys.toml"), "{e}");
    }
}
