//! The actions menu: opened on a pod, its permissions checked (SelfSubjectAccessReview, cached
//! briefly), an entry run by Enter or by its direct key.

use crossterm::event::{KeyCode, KeyEvent};

use super::{intents, notes, open_detail, open_logs, row_container_of, sockets, wants_previous};
use crate::action::Action;
use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::helper::manifest::DEFAULT_NAMESPACE;
use crate::intent::Intent;
use crate::state::menu::{EntryStatus, MenuAction, MenuState, direct_keys};
use crate::state::{AppState, Mode, ToastLevel};

/// Open the menu on `pod` and ask for the permissions not known yet.
pub fn open(state: &mut AppState, pod: PodKey) -> Vec<Effect> {
    let running = state
        .pods
        .pod(&pod)
        .and_then(|p| p.node.as_ref())
        .is_some_and(|node| state.helper.deployed.contains(node));
    let menu = MenuState::new(pod, DEFAULT_NAMESPACE, running);
    let ask = state.access.to_ask(menu.checks(), state.now);
    state.mode = Mode::Menu(menu);
    if ask.is_empty() {
        Vec::new()
    } else {
        vec![Effect::CheckAccess(ask)]
    }
}

/// A key while the menu is open: move, run (Enter or an entry's own key), close (Esc, q, m).
pub fn on_key(state: &mut AppState, mut menu: MenuState, key: KeyEvent) -> Vec<Effect> {
    let direct = menu.entries.iter().position(|e| {
        direct_keys(&state.keymaps, e.action)
            .iter()
            .any(|k| k.matches(&key))
    });
    match key.code {
        _ if direct.is_some() => {
            let action = direct.map_or(MenuAction::Detail, |i| menu.entries[i].action);
            state.mode = Mode::Menu(menu);
            intents::apply(state, Intent::RunMenuEntry(action))
        }
        KeyCode::Enter => {
            let action = menu.entries.get(menu.selected).map(|e| e.action);
            state.mode = Mode::Menu(menu);
            match action {
                Some(a) => intents::apply(state, Intent::RunMenuEntry(a)),
                None => Vec::new(),
            }
        }
        KeyCode::Esc | KeyCode::Char('q' | 'm') => Vec::new(),
        KeyCode::Down | KeyCode::Char('j') => {
            menu.select_next();
            state.mode = Mode::Menu(menu);
            Vec::new()
        }
        KeyCode::Up | KeyCode::Char('k') => {
            menu.select_prev();
            state.mode = Mode::Menu(menu);
            Vec::new()
        }
        _ => {
            state.mode = Mode::Menu(menu);
            Vec::new()
        }
    }
}

/// Run `action` on the open menu's pod; a denied entry says which permission is missing.
pub fn run(state: &mut AppState, action: MenuAction) -> Vec<Effect> {
    let Mode::Menu(menu) = std::mem::take(&mut state.mode) else {
        return Vec::new();
    };
    let Some(entry) = menu.entries.iter().find(|e| e.action == action) else {
        return Vec::new();
    };
    match state.access.status(&entry.needs) {
        EntryStatus::Denied(missing) => {
            let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
            state.toast(
                ToastLevel::Error,
                format!(
                    "{}: you lack {} (ask an admin for a Role granting it)",
                    action.label(),
                    missing.join(", ")
                ),
            );
            state.mode = Mode::Menu(menu);
            return Vec::new();
        }
        EntryStatus::Checking => {
            state.toast(
                ToastLevel::Info,
                "still checking permissions with the API server…",
            );
            state.mode = Mode::Menu(menu);
            return Vec::new();
        }
        EntryStatus::Allowed | EntryStatus::Partial(_) | EntryStatus::Unchecked(_) => {}
    }
    let pod = menu.pod;
    match action {
        MenuAction::Detail => open_detail(state, pod),
        MenuAction::Logs => match row_container_of(state, &pod) {
            Some(container) => {
                let previous = wants_previous(state, &pod, &container);
                open_logs(state, pod, container, previous)
            }
            None => {
                state.toast(ToastLevel::Error, format!("{pod} has no containers"));
                Vec::new()
            }
        },
        MenuAction::Sockets => sockets::open(state, pod),
        MenuAction::Packets => super::packets::open(state, pod),
        MenuAction::Export => intents::apply(state, Intent::Export(pod)),
        MenuAction::Checkpoint => intents::apply(state, Intent::Checkpoint(pod)),
        MenuAction::Clone => intents::apply(state, Intent::Clone(pod)),
        MenuAction::Notes => notes::open(state),
    }
}

/// The access checks' answers, into the cache (a failed check leaves the entries usable, saying
/// the permission could not be checked).
pub fn on_checked(state: &mut AppState, action: Action) -> Vec<Effect> {
    let Action::AccessChecked { checks, result } = action else {
        return Vec::new();
    };
    let now = state.now;
    match result {
        Ok(allowed) => {
            for (check, ok) in checks.into_iter().zip(allowed) {
                state.access.answered(check, Ok(ok), now);
            }
        }
        Err(e) => {
            let why = format!("could not check permissions: {e}");
            for check in checks {
                state.access.answered(check, Err(why.clone()), now);
            }
        }
    }
    Vec::new()
}
