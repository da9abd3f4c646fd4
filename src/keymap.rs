//! Which key does what, pane by pane. The built-in tables are `const` data; [`Keymaps`] is what
//! is in effect: those tables with the commands a keys file (`config/keys.rs`) rebinds. The key
//! handlers look keys up in it, and `?` help and the footer hints are drawn from it, so neither
//! can drift from the code nor miss a remapped key.

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

/// What a keys file may write for a key (quoted by its errors).
pub const KEY_SYNTAX: &str = "a single character, ctrl-<letter>, enter, esc, backspace, up, down, \
                              pgup, pgdn, home, end or space";

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

    /// How the footer names the key: as help does, but Enter is ⏎, Esc esc, Ctrl-D ^D.
    pub fn short_name(self) -> String {
        match self {
            Key::Enter => "⏎".to_string(),
            Key::Esc => "esc".to_string(),
            Key::Backspace => "bksp".to_string(),
            Key::Char(' ') => "space".to_string(),
            Key::Ctrl(c) => format!("^{}", c.to_ascii_uppercase()),
            other => other.name(),
        }
    }

    /// A key as a keys file writes it (see [`KEY_SYNTAX`]): `L`, `ctrl-q`, `pgdn`, `space`.
    /// Named keys and `ctrl-` are read in any case; a single character is taken as it is.
    pub fn parse(spec: &str) -> Option<Key> {
        let mut chars = spec.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return (!c.is_control()).then_some(Key::Char(c));
        }
        let lower = spec.to_ascii_lowercase();
        if let Some(letter) = lower.strip_prefix("ctrl-") {
            let mut chars = letter.chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_lowercase() => Some(Key::Ctrl(c)),
                _ => None,
            };
        }
        Some(match lower.as_str() {
            "enter" => Key::Enter,
            "esc" => Key::Esc,
            "backspace" => Key::Backspace,
            "up" => Key::Up,
            "down" => Key::Down,
            "pgup" => Key::PageUp,
            "pgdn" => Key::PageDown,
            "home" => Key::Home,
            "end" => Key::End,
            "space" => Key::Char(' '),
            _ => return None,
        })
    }
}

/// The keys file's spelling ([`Key::parse`] reads it back), for messages about a key.
impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Key::Char(' ') => f.write_str("space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Ctrl(c) => write!(f, "ctrl-{c}"),
            Key::Enter => f.write_str("enter"),
            Key::Esc => f.write_str("esc"),
            Key::Backspace => f.write_str("backspace"),
            Key::Up => f.write_str("up"),
            Key::Down => f.write_str("down"),
            Key::PageUp => f.write_str("pgup"),
            Key::PageDown => f.write_str("pgdn"),
            Key::Home => f.write_str("home"),
            Key::End => f.write_str("end"),
        }
    }
}

/// A pane's commands, with the names a keys file gives them.
pub trait Command: Copy + Eq + std::fmt::Debug + 'static {
    const ALL: &'static [Self];
    /// snake_case of the variant: `OpenLogs` is `open_logs`.
    fn name(self) -> &'static str;

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// A command enum, its [`Command::ALL`] and names, from one list of `Variant => "name"`.
macro_rules! commands {
    ($(#[$meta:meta])* pub enum $enum:ident { $($variant:ident => $name:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $enum {
            $($variant,)*
        }

        impl Command for $enum {
            const ALL: &'static [Self] = &[$(Self::$variant,)*];

            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
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

/// A command a pane's footer names: one of the pane's, or one that works in every pane.
#[derive(Debug, Clone, Copy)]
pub enum HintCmd<C> {
    Pane(C),
    Anywhere(Global),
}

/// One footer hint: the first key of each command, joined by `/`, then `:label`; without a
/// label the keys alone (`n/N`).
#[derive(Debug)]
pub struct Hint<C: 'static> {
    pub cmds: &'static [HintCmd<C>],
    pub label: &'static str,
}

/// The built-in keys of one pane, in help order, and the commands its footer hints at.
#[derive(Debug)]
pub struct Keymap<C: 'static> {
    /// Help's heading.
    pub title: &'static str,
    /// The pane's section in a keys file: `[table]`.
    pub section: &'static str,
    pub lines: &'static [Line<C>],
    pub footer: &'static [Hint<C>],
}

/// A pane's keys in effect: the built-in table, with the commands a keys file rebinds (their
/// keys replace the built-in ones).
#[derive(Debug, Clone)]
pub struct PaneKeys<C: 'static> {
    pub map: &'static Keymap<C>,
    overrides: Vec<(C, Vec<Key>)>,
}

impl<C: Command> PaneKeys<C> {
    pub const fn new(map: &'static Keymap<C>) -> Self {
        Self {
            map,
            overrides: Vec::new(),
        }
    }

    /// Bind `cmd` to `keys` instead of its built-in keys.
    pub fn rebind(&mut self, cmd: C, keys: Vec<Key>) {
        match self.overrides.iter_mut().find(|(c, _)| *c == cmd) {
            Some((_, k)) => *k = keys,
            None => self.overrides.push((cmd, keys)),
        }
    }

    /// The keys that run `cmd` (the first is the one the footer shows).
    pub fn keys_of(&self, cmd: C) -> &[Key] {
        match self.overrides.iter().find(|(c, _)| *c == cmd) {
            Some((_, keys)) => keys,
            None => self
                .map
                .lines
                .iter()
                .flat_map(|l| l.bindings)
                .find(|b| b.cmd == cmd)
                .map_or(&[], |b| b.keys),
        }
    }

    /// Every command with its keys, in help order.
    pub fn bindings(&self) -> impl Iterator<Item = (C, &[Key])> {
        self.map
            .lines
            .iter()
            .flat_map(|l| l.bindings)
            .map(|b| (b.cmd, self.keys_of(b.cmd)))
    }

    pub fn lookup(&self, ev: &KeyEvent) -> Option<C> {
        self.bindings()
            .find(|(_, keys)| keys.iter().any(|k| k.matches(ev)))
            .map(|(cmd, _)| cmd)
    }

    /// (keys, what) per help line: "j/↓ k/↑" — a command's keys joined by `/`.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        self.map
            .lines
            .iter()
            .map(|l| {
                let keys: Vec<String> = l
                    .bindings
                    .iter()
                    .map(|b| {
                        self.keys_of(b.cmd)
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

    /// (key, command name) for every key bound in the pane.
    fn bound(&self) -> Vec<(Key, &'static str)> {
        self.bindings()
            .flat_map(|(cmd, keys)| keys.iter().map(move |k| (*k, cmd.name())))
            .collect()
    }

    /// The first two commands of the pane sharing a key.
    fn bound_twice(&self) -> Result<(), Conflict> {
        let bound = self.bound();
        for (i, (key, second)) in bound.iter().enumerate() {
            if let Some((_, first)) = bound[..i].iter().find(|(k, _)| k == key) {
                return Err(Conflict::BoundTwice {
                    pane: self.map.section,
                    key: *key,
                    first,
                    second,
                });
            }
        }
        Ok(())
    }
}

/// Why a set of keymaps cannot be used: a key that would mean two things.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error(
        "[{pane}] key \"{key}\" is bound to both {first} and {second}: give one of them other keys"
    )]
    BoundTwice {
        pane: &'static str,
        key: Key,
        first: &'static str,
        second: &'static str,
    },
    #[error(
        "[{pane}] key \"{key}\" of {command} is also the key of {anywhere} in [anywhere], which wins in every pane: give one of them another key"
    )]
    ShadowsAnywhere {
        pane: &'static str,
        key: Key,
        command: &'static str,
        anywhere: &'static str,
    },
    #[error(
        "[anywhere] quit works while typing in a filter or the command line too, so its keys must be ctrl-<letter>, not \"{key}\""
    )]
    QuitWhileTyping { key: Key },
}

/// The keymaps in effect, pane by pane: what the key handlers, `?` help and the footer use.
/// Default: the built-in tables.
#[derive(Debug, Clone)]
pub struct Keymaps {
    pub global: PaneKeys<Global>,
    pub table: PaneKeys<Table>,
    pub detail: PaneKeys<Detail>,
    pub logs: PaneKeys<Logs>,
    pub sockets: PaneKeys<Sockets>,
    pub packets: PaneKeys<Packets>,
    pub notes: PaneKeys<Notes>,
    pub inspect: PaneKeys<Inspect>,
}

impl Default for Keymaps {
    fn default() -> Self {
        Self {
            global: PaneKeys::new(&GLOBAL),
            table: PaneKeys::new(&TABLE),
            detail: PaneKeys::new(&DETAIL),
            logs: PaneKeys::new(&LOGS),
            sockets: PaneKeys::new(&SOCKETS),
            packets: PaneKeys::new(&PACKETS),
            notes: PaneKeys::new(&NOTES),
            inspect: PaneKeys::new(&INSPECT),
        }
    }
}

impl Keymaps {
    /// The sections of a keys file, `anywhere` first.
    pub const SECTIONS: [&'static str; 8] = [
        GLOBAL.section,
        TABLE.section,
        DETAIL.section,
        LOGS.section,
        SOCKETS.section,
        PACKETS.section,
        NOTES.section,
        INSPECT.section,
    ];

    /// A key means one thing per pane, a pane's key does not shadow one of every pane, and quit
    /// (which works while typing) is a Ctrl-letter.
    pub fn check(&self) -> Result<(), Conflict> {
        if let Some(key) = self
            .global
            .keys_of(Global::Quit)
            .iter()
            .find(|k| !matches!(k, Key::Ctrl(_)))
        {
            return Err(Conflict::QuitWhileTyping { key: *key });
        }
        self.global.bound_twice()?;
        let anywhere = self.global.bound();
        for (pane, bound) in [
            (TABLE.section, self.table.bound()),
            (DETAIL.section, self.detail.bound()),
            (LOGS.section, self.logs.bound()),
            (SOCKETS.section, self.sockets.bound()),
            (PACKETS.section, self.packets.bound()),
            (NOTES.section, self.notes.bound()),
            (INSPECT.section, self.inspect.bound()),
        ] {
            if let Some((key, command, global)) = bound.iter().find_map(|(k, c)| {
                anywhere
                    .iter()
                    .find(|(g, _)| g == k)
                    .map(|(_, g)| (*k, *c, *g))
            }) {
                return Err(Conflict::ShadowsAnywhere {
                    pane,
                    key,
                    command,
                    anywhere: global,
                });
            }
        }
        self.table.bound_twice()?;
        self.detail.bound_twice()?;
        self.logs.bound_twice()?;
        self.sockets.bound_twice()?;
        self.packets.bound_twice()?;
        self.notes.bound_twice()?;
        self.inspect.bound_twice()
    }

    /// A pane's footer: its hints with the keys in effect, two spaces apart. A hint whose
    /// command has no key is left out.
    pub fn footer<C: Command>(&self, pane: &PaneKeys<C>) -> String {
        pane.map
            .footer
            .iter()
            .filter_map(|hint| {
                let keys = hint
                    .cmds
                    .iter()
                    .map(|cmd| {
                        let keys = match *cmd {
                            HintCmd::Pane(c) => pane.keys_of(c),
                            HintCmd::Anywhere(g) => self.global.keys_of(g),
                        };
                        keys.first().map(|k| k.short_name())
                    })
                    .collect::<Option<Vec<_>>>()?
                    .join("/");
                Some(if hint.label.is_empty() {
                    keys
                } else {
                    format!("{keys}:{}", hint.label)
                })
            })
            .collect::<Vec<_>>()
            .join("  ")
    }
}

const fn bind<C>(keys: &'static [Key], cmd: C) -> Binding<C> {
    Binding { keys, cmd }
}

const fn hint<C>(cmds: &'static [HintCmd<C>], label: &'static str) -> Hint<C> {
    Hint { cmds, label }
}

use HintCmd::{Anywhere, Pane};
use Key::{Backspace, Ctrl, Down, End, Enter, Esc, Home, PageDown, PageUp, Up};

const fn ch(c: char) -> Key {
    Key::Char(c)
}

commands! {
    /// Keys of every pane (the command line, the question on exit and Ctrl-C in any mode).
    pub enum Global {
        Help => "help",
        Quit => "quit",
        Command => "command",
    }
}

pub const GLOBAL: Keymap<Global> = Keymap {
    title: "Anywhere",
    section: "anywhere",
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
    footer: &[],
};

/// What the command line understands, (usage, what); NAME is a placeholder.
pub const COMMANDS: &[(&str, &str)] = &[
    (":ns NAME  :ns all", "switch namespace / all namespaces"),
    (
        ":ctx NAME  :inspect FILE",
        "switch context / read a checkpoint, snapshot",
    ),
    (":q  :q!  :help", "quit / quit leaving helpers / help"),
];

/// Each command of `COMMANDS` on its own: `:ns NAME`, `:ns all`, …
pub fn command_usages() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .flat_map(|(usage, _)| usage.split("  "))
        .filter(|u| !u.is_empty())
}

commands! {
    pub enum Table {
        Down => "down",
        Up => "up",
        PageDown => "page_down",
        PageUp => "page_up",
        HalfPageDown => "half_page_down",
        HalfPageUp => "half_page_up",
        First => "first",
        Last => "last",
        OpenDetail => "open_detail",
        OpenLogs => "open_logs",
        OpenSockets => "open_sockets",
        OpenPackets => "open_packets",
        OpenMenu => "open_menu",
        Export => "export",
        Checkpoint => "checkpoint",
        Clone => "clone",
        OpenNotes => "open_notes",
        EditFilter => "edit_filter",
        ClearFilter => "clear_filter",
        ToggleAll => "toggle_all",
        CycleSort => "cycle_sort",
        ToggleGroups => "toggle_groups",
        Quit => "quit",
    }
}

pub const TABLE: Keymap<Table> = Keymap {
    title: "Crashed pods / all pods",
    section: "table",
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
            bindings: &[
                bind(&[ch('t')], Table::OpenSockets),
                bind(&[ch('p')], Table::OpenPackets),
            ],
            what: "socket events / packets of the pod (node helper)",
        },
        Line {
            bindings: &[
                bind(&[ch('m')], Table::OpenMenu),
                bind(&[ch('e')], Table::Export),
                bind(&[ch('C')], Table::Checkpoint),
                bind(&[ch('c')], Table::Clone),
                bind(&[ch('n')], Table::OpenNotes),
            ],
            what: "menu / export, sign / checkpoint / clone / notes",
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
    footer: &[
        hint(&[Anywhere(Global::Help)], "help"),
        hint(&[Pane(Table::EditFilter)], "filter"),
        hint(&[Pane(Table::OpenMenu)], "menu"),
        hint(&[Pane(Table::OpenDetail)], "detail"),
        hint(&[Pane(Table::OpenLogs)], "logs"),
        hint(&[Pane(Table::OpenSockets)], "sockets"),
        hint(&[Pane(Table::ToggleAll)], "all"),
        hint(&[Pane(Table::CycleSort)], "sort"),
        hint(&[Pane(Table::ToggleGroups)], "ungroup"),
        hint(&[Anywhere(Global::Command)], "cmd"),
        hint(&[Pane(Table::Quit)], "quit"),
    ],
};

commands! {
    pub enum Detail {
        Back => "back",
        Down => "down",
        Up => "up",
        PageDown => "page_down",
        PageUp => "page_up",
        Top => "top",
        OpenLogs => "open_logs",
        OpenSockets => "open_sockets",
        OpenPackets => "open_packets",
        OpenMenu => "open_menu",
        Export => "export",
        Checkpoint => "checkpoint",
        Clone => "clone",
        OpenNotes => "open_notes",
    }
}

pub const DETAIL: Keymap<Detail> = Keymap {
    title: "Pod detail",
    section: "detail",
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
            bindings: &[
                bind(&[ch('t')], Detail::OpenSockets),
                bind(&[ch('p')], Detail::OpenPackets),
            ],
            what: "socket events / packets of the pod (node helper)",
        },
        Line {
            bindings: &[
                bind(&[ch('m')], Detail::OpenMenu),
                bind(&[ch('e')], Detail::Export),
                bind(&[ch('C')], Detail::Checkpoint),
                bind(&[ch('c')], Detail::Clone),
                bind(&[ch('n')], Detail::OpenNotes),
            ],
            what: "menu / export, sign / checkpoint / clone / notes",
        },
    ],
    footer: &[
        hint(&[Pane(Detail::OpenMenu)], "menu"),
        hint(&[Pane(Detail::OpenLogs)], "logs"),
        hint(&[Pane(Detail::OpenSockets)], "sockets"),
        hint(&[Pane(Detail::Down), Pane(Detail::Up)], "scroll"),
        hint(&[Pane(Detail::Back)], "back"),
        hint(&[Anywhere(Global::Help)], "help"),
    ],
};

commands! {
    pub enum Logs {
        Back => "back",
        Down => "down",
        Up => "up",
        PageDown => "page_down",
        PageUp => "page_up",
        Start => "start",
        End => "end",
        Search => "search",
        NextMatch => "next_match",
        PreviousMatch => "previous_match",
        ToggleInstance => "toggle_instance",
        ToggleFollow => "toggle_follow",
        ToggleWrap => "toggle_wrap",
        Save => "save",
    }
}

pub const LOGS: Keymap<Logs> = Keymap {
    title: "Logs",
    section: "logs",
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
            what: "keep the raw bytes in the case (SHA-256)",
        },
    ],
    footer: &[
        hint(&[Pane(Logs::ToggleInstance)], "previous/current"),
        hint(&[Pane(Logs::ToggleFollow)], "follow"),
        hint(&[Pane(Logs::ToggleWrap)], "wrap"),
        hint(&[Pane(Logs::Search)], "search"),
        hint(&[Pane(Logs::NextMatch), Pane(Logs::PreviousMatch)], ""),
        hint(&[Pane(Logs::Save)], "save"),
        hint(&[Pane(Logs::Back)], "back"),
    ],
};

commands! {
    pub enum Sockets {
        Back => "back",
        TogglePause => "toggle_pause",
        Older => "older",
        Newer => "newer",
        PageOlder => "page_older",
        PageNewer => "page_newer",
        Follow => "follow",
        EditFilter => "edit_filter",
        ToggleSummary => "toggle_summary",
        ToggleScope => "toggle_scope",
        Clear => "clear",
        RemoveHelper => "remove_helper",
    }
}

pub const SOCKETS: Keymap<Sockets> = Keymap {
    title: "Sockets",
    section: "sockets",
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
    footer: &[
        hint(&[Pane(Sockets::TogglePause)], "pause"),
        hint(&[Pane(Sockets::EditFilter)], "filter"),
        hint(&[Pane(Sockets::ToggleScope)], "pod/node"),
        hint(&[Pane(Sockets::ToggleSummary)], "summary"),
        hint(&[Pane(Sockets::Newer), Pane(Sockets::Older)], "scroll"),
        hint(&[Pane(Sockets::Follow)], "follow"),
        hint(&[Pane(Sockets::Clear)], "clear"),
        hint(&[Pane(Sockets::RemoveHelper)], "remove helper"),
        hint(&[Pane(Sockets::Back)], "back"),
    ],
};

commands! {
    /// The packets pane: a pod's captures.
    pub enum Packets {
        Back => "back",
        StartStop => "start_stop",
        TogglePause => "toggle_pause",
        Older => "older",
        Newer => "newer",
        PageOlder => "page_older",
        PageNewer => "page_newer",
        Follow => "follow",
        EditFilter => "edit_filter",
        ToggleFlows => "toggle_flows",
        Clear => "clear",
    }
}

pub const PACKETS: Keymap<Packets> = Keymap {
    title: "Packets",
    section: "packets",
    lines: &[
        Line {
            bindings: &[bind(&[Esc, ch('q'), Backspace], Packets::Back)],
            what: "back to the list (a capture goes on)",
        },
        Line {
            bindings: &[bind(&[ch('s')], Packets::StartStop)],
            what: "start a capture (asks first) / stop it",
        },
        Line {
            bindings: &[bind(&[ch('p'), ch(' ')], Packets::TogglePause)],
            what: "pause / resume the lines (held meanwhile)",
        },
        Line {
            bindings: &[
                bind(&[ch('k'), Up], Packets::Older),
                bind(&[ch('j'), Down], Packets::Newer),
            ],
            what: "scroll back / forward",
        },
        Line {
            bindings: &[
                bind(&[PageUp], Packets::PageOlder),
                bind(&[PageDown], Packets::PageNewer),
            ],
            what: "20 lines back / forward",
        },
        Line {
            bindings: &[bind(&[ch('f'), ch('G'), End], Packets::Follow)],
            what: "follow the newest packets",
        },
        Line {
            bindings: &[bind(&[ch('/')], Packets::EditFilter)],
            what: "filter: host:IP port:N proto:udp dns !…",
        },
        Line {
            bindings: &[bind(&[ch('v')], Packets::ToggleFlows)],
            what: "top flows / packet lines",
        },
        Line {
            bindings: &[bind(&[ch('c')], Packets::Clear)],
            what: "clear the lines and flows (the pcap keeps all)",
        },
    ],
    footer: &[
        hint(&[Pane(Packets::StartStop)], "capture/stop"),
        hint(&[Pane(Packets::TogglePause)], "pause"),
        hint(&[Pane(Packets::EditFilter)], "filter"),
        hint(&[Pane(Packets::ToggleFlows)], "flows"),
        hint(&[Pane(Packets::Newer), Pane(Packets::Older)], "scroll"),
        hint(&[Pane(Packets::Follow)], "follow"),
        hint(&[Pane(Packets::Back)], "back"),
    ],
};

commands! {
    /// The notes pane: every other key is typed into the notes.
    pub enum Notes {
        Back => "back",
        Save => "save",
    }
}

pub const NOTES: Keymap<Notes> = Keymap {
    title: "Notes",
    section: "notes",
    lines: &[
        Line {
            bindings: &[bind(&[Esc], Notes::Back)],
            what: "back (the notes are saved)",
        },
        Line {
            bindings: &[bind(&[Ctrl('s')], Notes::Save)],
            what: "save now (else saved 2 s after the last key at most)",
        },
    ],
    footer: &[
        hint(&[Pane(Notes::Save)], "save"),
        hint(&[Pane(Notes::Back)], "back"),
    ],
};

commands! {
    /// The inspect pane: a checkpoint archive or live snapshot, read from the case.
    pub enum Inspect {
        Back => "back",
        Down => "down",
        Up => "up",
        PageDown => "page_down",
        PageUp => "page_up",
        Start => "start",
        End => "end",
        Search => "search_memory",
    }
}

pub const INSPECT: Keymap<Inspect> = Keymap {
    title: "Inspect",
    section: "inspect",
    lines: &[
        Line {
            bindings: &[bind(&[Esc, ch('q'), Backspace], Inspect::Back)],
            what: "back",
        },
        Line {
            bindings: &[
                bind(&[ch('j'), Down], Inspect::Down),
                bind(&[ch('k'), Up], Inspect::Up),
            ],
            what: "scroll down / up",
        },
        Line {
            bindings: &[
                bind(&[PageDown, ch(' ')], Inspect::PageDown),
                bind(&[PageUp], Inspect::PageUp),
            ],
            what: "page down / up",
        },
        Line {
            bindings: &[
                bind(&[ch('g'), Home], Inspect::Start),
                bind(&[ch('G'), End], Inspect::End),
            ],
            what: "start / end",
        },
        Line {
            bindings: &[bind(&[ch('/')], Inspect::Search)],
            what: "search the memory images for text (exact bytes)",
        },
    ],
    footer: &[
        hint(&[Pane(Inspect::Search)], "search memory"),
        hint(&[Pane(Inspect::Back)], "back"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn press(c: char) -> KeyEvent {
        ev(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn capitals_match_with_shift_ctrl_letters_only_with_ctrl() {
        assert!(ch('G').matches(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)));
        assert!(!ch('d').matches(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)));
        assert!(Ctrl('d').matches(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)));
        assert!(!Ctrl('d').matches(&ev(KeyCode::Char('d'), KeyModifiers::NONE)));
        assert!(!ch('j').matches(&ev(KeyCode::Char('j'), KeyModifiers::ALT)));
        let table = Keymaps::default().table;
        assert_eq!(
            table.lookup(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Table::HalfPageDown)
        );
        assert_eq!(table.lookup(&press('d')), Some(Table::OpenDetail));
    }

    /// A key means one thing per pane, and a pane's key does not shadow a global one.
    #[test]
    fn no_key_is_bound_twice() {
        assert_eq!(Keymaps::default().check(), Ok(()));
    }

    fn all_keys() -> Vec<Key> {
        let k = Keymaps::default();
        let mut keys: Vec<Key> = [
            k.global.bound(),
            k.table.bound(),
            k.detail.bound(),
            k.logs.bound(),
            k.sockets.bound(),
            k.packets.bound(),
        ]
        .concat()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
        keys.extend([Key::Char('é'), Key::Char('#'), Key::Ctrl('z')]);
        keys
    }

    /// Every command has a built-in key, and its name is the snake_case of its variant.
    #[test]
    fn every_command_has_a_key_and_a_snake_case_name() {
        fn check<C: Command>(pane: &PaneKeys<C>) {
            for cmd in C::ALL {
                assert!(!pane.keys_of(*cmd).is_empty(), "{cmd:?} has no key");
                let mut snake = String::new();
                for (i, c) in format!("{cmd:?}").chars().enumerate() {
                    if c.is_ascii_uppercase() && i > 0 {
                        snake.push('_');
                    }
                    snake.push(c.to_ascii_lowercase());
                }
                assert_eq!(cmd.name(), snake);
                assert_eq!(C::from_name(&snake), Some(*cmd));
            }
        }
        let k = Keymaps::default();
        check(&k.global);
        check(&k.table);
        check(&k.detail);
        check(&k.logs);
        check(&k.sockets);
        check(&k.packets);
    }

    #[test]
    fn keys_read_back_as_written_and_bad_spellings_are_refused() {
        for key in all_keys() {
            assert_eq!(Key::parse(&key.to_string()), Some(key), "{key:?}");
        }
        assert_eq!(Key::parse("L"), Some(ch('L')));
        assert_eq!(Key::parse("Ctrl-Q"), Some(Ctrl('q')));
        assert_eq!(Key::parse("PgDn"), Some(PageDown));
        assert_eq!(Key::parse(" "), Some(ch(' ')));
        for bad in [
            "", "ctrl-", "ctrl-1", "ctrl-qq", "alt-x", "shift-x", "tab", "f1", "\t", "ll",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_rebound_command_answers_only_to_its_new_keys_in_lookup_help_and_footer() {
        let mut k = Keymaps::default();
        k.table.rebind(Table::OpenLogs, vec![ch('L')]);
        k.table.rebind(Table::OpenDetail, vec![ch('o'), Enter]);
        k.global.rebind(Global::Help, vec![ch('h')]);
        assert_eq!(k.check(), Ok(()));
        assert_eq!(k.table.lookup(&press('L')), Some(Table::OpenLogs));
        assert_eq!(k.table.lookup(&press('l')), None);
        assert_eq!(k.table.lookup(&press('d')), None);
        assert_eq!(k.global.lookup(&press('?')), None);
        assert_eq!(k.global.lookup(&press('h')), Some(Global::Help));
        let help = k.table.help();
        assert!(
            help.contains(&("L".to_string(), TABLE.lines[4].what)),
            "{help:?}"
        );
        assert!(help.contains(&("o/Enter".to_string(), TABLE.lines[3].what)));
        assert_eq!(
            k.footer(&k.table),
            "h:help  /:filter  m:menu  o:detail  L:logs  t:sockets  a:all  s:sort  u:ungroup  ::cmd  q:quit"
        );
    }

    /// The footers of the built-in keys, as they were written by hand before.
    #[test]
    fn built_in_footers() {
        let k = Keymaps::default();
        assert_eq!(
            k.footer(&k.table),
            "?:help  /:filter  m:menu  ⏎:detail  l:logs  t:sockets  a:all  s:sort  u:ungroup  ::cmd  q:quit"
        );
        assert_eq!(
            k.footer(&k.detail),
            "m:menu  l:logs  t:sockets  j/k:scroll  esc:back  ?:help"
        );
        assert_eq!(
            k.footer(&k.logs),
            "p:previous/current  f:follow  w:wrap  /:search  n/N  S:save  esc:back"
        );
        assert_eq!(
            k.footer(&k.sockets),
            "p:pause  /:filter  n:pod/node  s:summary  j/k:scroll  f:follow  c:clear  X:remove helper  esc:back"
        );
        assert_eq!(
            k.footer(&k.packets),
            "s:capture/stop  p:pause  /:filter  v:flows  j/k:scroll  f:follow  esc:back"
        );
    }

    #[test]
    fn conflicts_name_the_pane_the_key_and_both_commands() {
        let mut k = Keymaps::default();
        k.table.rebind(Table::OpenLogs, vec![ch('d')]);
        assert_eq!(
            k.check(),
            Err(Conflict::BoundTwice {
                pane: "table",
                key: ch('d'),
                first: "open_detail",
                second: "open_logs",
            })
        );
        let mut k = Keymaps::default();
        k.global.rebind(Global::Help, vec![ch('X')]);
        assert_eq!(
            k.check(),
            Err(Conflict::ShadowsAnywhere {
                pane: "sockets",
                key: ch('X'),
                command: "remove_helper",
                anywhere: "help",
            })
        );
        let mut k = Keymaps::default();
        k.global.rebind(Global::Quit, vec![Ctrl('q'), ch('Q')]);
        assert_eq!(k.check(), Err(Conflict::QuitWhileTyping { key: ch('Q') }));
        let mut k = Keymaps::default();
        k.global.rebind(Global::Command, vec![Ctrl('c')]);
        assert!(matches!(
            k.check(),
            Err(Conflict::BoundTwice {
                pane: "anywhere",
                ..
            })
        ));
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
        let k = Keymaps::default();
        let mut anywhere = labels(k.global.help());
        anywhere.extend(COMMANDS.iter().map(|(usage, _)| usage.to_string()));
        let expected = vec![
            (
                "crashed pods / all pods".to_string(),
                labels(k.table.help()),
            ),
            ("detail".to_string(), labels(k.detail.help())),
            ("logs".to_string(), labels(k.logs.help())),
            ("sockets".to_string(), labels(k.sockets.help())),
            ("packets".to_string(), labels(k.packets.help())),
            ("notes".to_string(), labels(k.notes.help())),
            ("inspect".to_string(), labels(k.inspect.help())),
            ("anywhere".to_string(), anywhere),
        ];
        assert_eq!(sections, expected);
    }
}
