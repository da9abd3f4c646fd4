//! Which key does what, pane by pane. The key handlers look keys up in these tables and `?`
//! lists the same tables, so help cannot drift from the code. (A configurable keymap can grow
//! from here: the tables are data.)

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as bound: a character (Shift allowed, for capitals), a Ctrl-letter, or a named key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Backspace,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
}

impl Key {
    pub fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        if ev.modifiers.contains(KeyModifiers::ALT) {
            return false;
        }
        let code = match self {
            Key::Ctrl(c) => return ctrl && ev.code == KeyCode::Char(c),
            Key::Char(c) => KeyCode::Char(c),
            Key::Enter => KeyCode::Enter,
            Key::Esc => KeyCode::Esc,
            Key::Backspace => KeyCode::Backspace,
            Key::Up => KeyCode::Up,
            Key::Down => KeyCode::Down,
            Key::PageUp => KeyCode::PageUp,
            Key::PageDown => KeyCode::PageDown,
            Key::Home => KeyCode::Home,
            Key::End => KeyCode::End,
        };
        !ctrl && ev.code == code
    }

    /// How help and the README name the key.
    pub fn name(self) -> String {
        match self {
            Key::Char(' ') => "Space".to_string(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Enter => "Enter".to_string(),
            Key::Esc => "Esc".to_string(),
            Key::Backspace => "Backspace".to_string(),
            Key::Up => "↑".to_string(),
            Key::Down => "↓".to_string(),
            Key::PageUp => "PgUp".to_string(),
            Key::PageDown => "PgDn".to_string(),
            Key::Home => "Home".to_string(),
            Key::End => "End".to_string(),
        }
    }
}

/// Keys that run one command.
#[derive(Debug)]
pub struct Binding<C: 'static> {
    pub keys: &'static [Key],
    pub cmd: C,
}

/// One line of help: its bindings' keys, then what they do.
#[derive(Debug)]
pub struct Line<C: 'static> {
    pub bindings: &'static [Binding<C>],
    pub what: &'static str,
}

/// The keys of one pane, in help order.
#[derive(Debug)]
pub struct Keymap<C: 'static> {
    pub title: &'static str,
    pub lines: &'static [Line<C>],
}

impl<C: Copy> Keymap<C> {
    pub fn lookup(&self, ev: &KeyEvent) -> Option<C> {
        self.lines
            .iter()
            .flat_map(|l| l.bindings)
            .find(|b| b.keys.iter().any(|k| k.matches(ev)))
            .map(|b| b.cmd)
    }

    /// (keys, what) per help line: "j/↓ k/↑" — a binding's keys joined by `/`.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        self.lines
            .iter()
            .map(|l| {
                let keys: Vec<String> = l
                    .bindings
                    .iter()
                    .map(|b| {
                        b.keys
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .collect();
                (keys.join(" "), l.what)
            })
            .collect()
    }
}

const fn bind<C>(keys: &'static [Key], cmd: C) -> Binding<C> {
    Binding { keys, cmd }
}

use Key::{Backspace, Ctrl, Down, End, Enter, Esc, Home, PageDown, PageUp, Up};

const fn ch(c: char) -> Key {
    Key::Char(c)
}

/// Keys of every pane (the command line, the question on exit and Ctrl-C in any mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    Help,
    Quit,
    Command,
}

pub const GLOBAL: Keymap<Global> = Keymap {
    title: "Anywhere",
    lines: &[
        Line {
            bindings: &[bind(&[ch('?')], Global::Help)],
            what: "this help (any key closes it)",
        },
        Line {
            bindings: &[bind(&[Ctrl('c')], Global::Quit)],
            what: "quit (twice: leave helper pods running)",
        },
        Line {
            bindings: &[bind(&[ch(':')], Global::Command)],
            what: "command line, for these commands:",
        },
    ],
};

/// What the command line understands, (usage, what); NAME is a placeholder.
pub const COMMANDS: &[(&str, &str)] = &[
    (":ns NAME  :ns all", "switch namespace / all namespaces"),
    (":ctx NAME", "switch kubeconfig context"),
    (":q  :q!  :help", "quit / quit leaving helpers / help"),
];

/// Each command of `COMMANDS` on its own: `:ns NAME`, `:ns all`, …
pub fn command_usages() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .flat_map(|(usage, _)| usage.split("  "))
        .filter(|u| !u.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Down,
    Up,
    PageDown,
    PageUp,
    HalfPageDown,
    HalfPageUp,
    First,
    Last,
    OpenDetail,
    OpenLogs,
    OpenSockets,
    EditFilter,
    ClearFilter,
    ToggleAll,
    CycleSort,
    ToggleGroups,
    Quit,
}

pub const TABLE: Keymap<Table> = Keymap {
    title: "Crashed pods / all pods",
    lines: &[
        Line {
            bindings: &[
                bind(&[ch('j'), Down], Table::Down),
                bind(&[ch('k'), Up], Table::Up),
            ],
            what: "move down / up",
        },
        Line {
            bindings: &[
                bind(&[PageDown], Table::PageDown),
                bind(&[PageUp], Table::PageUp),
                bind(&[Ctrl('d')], Table::HalfPageDown),
                bind(&[Ctrl('u')], Table::HalfPageUp),
            ],
            what: "page down / up, half a page down / up",
        },
        Line {
            bindings: &[
                bind(&[ch('g'), Home], Table::First),
                bind(&[ch('G'), End], Table::Last),
            ],
            what: "first / last row",
        },
        Line {
            bindings: &[bind(&[Enter, ch('d')], Table::OpenDetail)],
            what: "pod detail (states, env, volumes, events)",
        },
        Line {
            bindings: &[bind(&[ch('l')], Table::OpenLogs)],
            what: "logs (previous instance after a restart)",
        },
        Line {
            bindings: &[bind(&[ch('t')], Table::OpenSockets)],
            what: "socket events of the pod (node helper)",
        },
        Line {
            bindings: &[bind(&[ch('/')], Table::EditFilter)],
            what: "filter: substring, ! negates; Enter keeps",
        },
        Line {
            bindings: &[bind(&[Esc], Table::ClearFilter)],
            what: "clear the filter",
        },
        Line {
            bindings: &[bind(&[ch('a')], Table::ToggleAll)],
            what: "all pods (as `kubectl get pods`) / crashed only",
        },
        Line {
            bindings: &[bind(&[ch('s')], Table::CycleSort)],
            what: "sort: newest crash, restarts, repeats, name",
        },
        Line {
            bindings: &[bind(&[ch('u')], Table::ToggleGroups)],
            what: "ungroup / group by crash signature",
        },
        Line {
            bindings: &[bind(&[ch('q')], Table::Quit)],
            what: "quit (asks about helper pods left running)",
        },
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Back,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    OpenLogs,
    OpenSockets,
}

pub const DETAIL: Keymap<Detail> = Keymap {
    title: "Pod detail",
    lines: &[
        Line {
            bindings: &[bind(&[Esc, ch('q'), Backspace], Detail::Back)],
            what: "back to the list",
        },
        Line {
            bindings: &[
                bind(&[ch('j'), Down], Detail::Down),
                bind(&[ch('k'), Up], Detail::Up),
            ],
            what: "scroll down / up",
        },
        Line {
            bindings: &[
                bind(&[PageDown], Detail::PageDown),
                bind(&[PageUp], Detail::PageUp),
            ],
            what: "ten lines down / up",
        },
        Line {
            bindings: &[bind(&[ch('g'), Home], Detail::Top)],
            what: "top",
        },
        Line {
            bindings: &[bind(&[ch('l')], Detail::OpenLogs)],
            what: "logs (previous instance after a restart)",
        },
        Line {
            bindings: &[bind(&[ch('t')], Detail::OpenSockets)],
            what: "socket events of the pod (node helper)",
        },
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    Back,
    Down,
    Up,
    PageDown,
    PageUp,
    Start,
    End,
    Search,
    NextMatch,
    PreviousMatch,
    ToggleInstance,
    ToggleFollow,
    ToggleWrap,
    Save,
}

pub const LOGS: Keymap<Logs> = Keymap {
    title: "Logs",
    lines: &[
        Line {
            bindings: &[bind(&[Esc, ch('q'), Backspace], Logs::Back)],
            what: "back",
        },
        Line {
            bindings: &[
                bind(&[ch('j'), Down], Logs::Down),
                bind(&[ch('k'), Up], Logs::Up),
            ],
            what: "scroll down / up",
        },
        Line {
            bindings: &[
                bind(&[PageDown, ch(' ')], Logs::PageDown),
                bind(&[PageUp], Logs::PageUp),
            ],
            what: "page down / up",
        },
        Line {
            bindings: &[
                bind(&[ch('g'), Home], Logs::Start),
                bind(&[ch('G'), End], Logs::End),
            ],
            what: "start / end",
        },
        Line {
            bindings: &[bind(&[ch('/')], Logs::Search)],
            what: "search, highlighted; Enter keeps, Esc clears",
        },
        Line {
            bindings: &[
                bind(&[ch('n')], Logs::NextMatch),
                bind(&[ch('N')], Logs::PreviousMatch),
            ],
            what: "next / previous match",
        },
        Line {
            bindings: &[bind(&[ch('p')], Logs::ToggleInstance)],
            what: "previous / current instance",
        },
        Line {
            bindings: &[bind(&[ch('f')], Logs::ToggleFollow)],
            what: "follow current logs / stop",
        },
        Line {
            bindings: &[bind(&[ch('w')], Logs::ToggleWrap)],
            what: "wrap long lines",
        },
        Line {
            bindings: &[bind(&[ch('S')], Logs::Save)],
            what: "save the raw bytes to ./ktui-….log (SHA-256)",
        },
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sockets {
    Back,
    TogglePause,
    Older,
    Newer,
    PageOlder,
    PageNewer,
    Follow,
    EditFilter,
    ToggleSummary,
    ToggleScope,
    Clear,
    RemoveHelper,
}

pub const SOCKETS: Keymap<Sockets> = Keymap {
    title: "Sockets",
    lines: &[
        Line {
            bindings: &[bind(&[Esc, ch('q'), Backspace], Sockets::Back)],
            what: "back to the list",
        },
        Line {
            bindings: &[bind(&[ch('p'), ch(' ')], Sockets::TogglePause)],
            what: "pause / resume (events are held meanwhile)",
        },
        Line {
            bindings: &[
                bind(&[ch('k'), Up], Sockets::Older),
                bind(&[ch('j'), Down], Sockets::Newer),
            ],
            what: "scroll back / forward",
        },
        Line {
            bindings: &[
                bind(&[PageUp], Sockets::PageOlder),
                bind(&[PageDown], Sockets::PageNewer),
            ],
            what: "20 events back / forward",
        },
        Line {
            bindings: &[bind(&[ch('f'), ch('G'), End], Sockets::Follow)],
            what: "follow the newest events",
        },
        Line {
            bindings: &[bind(&[ch('/')], Sockets::EditFilter)],
            what: "filter: port:53 proto:udp type:drop !word…",
        },
        Line {
            bindings: &[bind(&[ch('s')], Sockets::ToggleSummary)],
            what: "live summary on / off",
        },
        Line {
            bindings: &[bind(&[ch('n')], Sockets::ToggleScope)],
            what: "the selected pod / the whole node",
        },
        Line {
            bindings: &[bind(&[ch('c')], Sockets::Clear)],
            what: "clear the list and the summary",
        },
        Line {
            bindings: &[bind(&[ch('X')], Sockets::RemoveHelper)],
            what: "remove the helper pod of this node",
        },
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn capitals_match_with_shift_ctrl_letters_only_with_ctrl() {
        assert!(ch('G').matches(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)));
        assert!(!ch('d').matches(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)));
        assert!(Ctrl('d').matches(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)));
        assert!(!Ctrl('d').matches(&ev(KeyCode::Char('d'), KeyModifiers::NONE)));
        assert!(!ch('j').matches(&ev(KeyCode::Char('j'), KeyModifiers::ALT)));
        assert_eq!(
            TABLE.lookup(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Table::HalfPageDown)
        );
        assert_eq!(
            TABLE.lookup(&ev(KeyCode::Char('d'), KeyModifiers::NONE)),
            Some(Table::OpenDetail)
        );
    }

    /// A key means one thing per pane, and a pane's key does not shadow a global one.
    #[test]
    fn no_key_is_bound_twice() {
        fn keys<C>(map: &Keymap<C>) -> Vec<Key> {
            map.lines
                .iter()
                .flat_map(|l| l.bindings)
                .flat_map(|b| b.keys.iter().copied())
                .collect()
        }
        let global = keys(&GLOBAL);
        for (title, pane) in [
            (TABLE.title, keys(&TABLE)),
            (DETAIL.title, keys(&DETAIL)),
            (LOGS.title, keys(&LOGS)),
            (SOCKETS.title, keys(&SOCKETS)),
        ] {
            for (i, k) in pane.iter().enumerate() {
                assert!(!pane[..i].contains(k), "{title}: {k:?} bound twice");
                assert!(!global.contains(k), "{title}: {k:?} shadows a global key");
            }
        }
    }

    /// The README's key table lists, pane by pane, the keys help shows.
    #[test]
    fn readme_key_table_agrees() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("## Keys")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        let mut sections: Vec<(String, Vec<String>)> = Vec::new();
        for row in table.lines().filter(|l| l.starts_with('|')).skip(2) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (Some(where_), Some(keys)) = (cells.get(1), cells.get(2)) else {
                continue;
            };
            if !where_.is_empty() {
                sections.push((where_.to_string(), Vec::new()));
            }
            if let Some((_, rows)) = sections.last_mut() {
                rows.push(keys.trim_matches('`').to_string());
            }
        }
        let labels = |help: Vec<(String, &str)>| -> Vec<String> {
            help.into_iter().map(|(k, _)| k).collect()
        };
        let mut anywhere = labels(GLOBAL.help());
        anywhere.extend(COMMANDS.iter().map(|(usage, _)| usage.to_string()));
        let expected = vec![
            ("crashed pods / all pods".to_string(), labels(TABLE.help())),
            ("detail".to_string(), labels(DETAIL.help())),
            ("logs".to_string(), labels(LOGS.help())),
            ("sockets".to_string(), labels(SOCKETS.help())),
            ("anywhere".to_string(), anywhere),
        ];
        assert_eq!(sections, expected);
    }
}
