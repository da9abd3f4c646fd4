//! The actions menu (`m` on a pod): what can be done to the pod, each entry with its direct key
//! and the permissions it needs, checked with SelfSubjectAccessReview when the menu opens and
//! cached briefly ([`AccessCache`]).

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use crate::cluster::{AccessCheck, PodKey};
use crate::keymap::Table;

/// How long an access answer is trusted before it is asked again.
pub const ACCESS_TTL: SignedDuration = SignedDuration::from_secs(60);

/// What an entry does to the menu's pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuAction {
    Detail,
    Logs,
    Sockets,
    Packets,
    Export,
    Clone,
    Checkpoint,
    Notes,
}

impl MenuAction {
    pub const ALL: [MenuAction; 8] = [
        MenuAction::Detail,
        MenuAction::Logs,
        MenuAction::Sockets,
        MenuAction::Packets,
        MenuAction::Export,
        MenuAction::Clone,
        MenuAction::Checkpoint,
        MenuAction::Notes,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MenuAction::Detail => "detail: states, env, volumes, events",
            MenuAction::Logs => "logs (previous instance after a restart)",
            MenuAction::Sockets => "socket events (node helper)",
            MenuAction::Packets => "packets: capture into pcaps in the case (node helper, NET_RAW)",
            MenuAction::Export => "export: collect and sign an evidence bundle",
            MenuAction::Checkpoint => "checkpoint: CRIU archive of a running container (kubelet)",
            MenuAction::Clone => {
                "clone: isolated forensic copy (NetworkPolicy deny-all, no token, logs stamped)"
            }
            MenuAction::Notes => "notes (the case's notes.md)",
        }
    }

    /// The table command with the same meaning: its key is the entry's direct key.
    pub fn command(self) -> Table {
        match self {
            MenuAction::Detail => Table::OpenDetail,
            MenuAction::Logs => Table::OpenLogs,
            MenuAction::Sockets => Table::OpenSockets,
            MenuAction::Packets => Table::OpenPackets,
            MenuAction::Export => Table::Export,
            MenuAction::Checkpoint => Table::Checkpoint,
            MenuAction::Clone => Table::Clone,
            MenuAction::Notes => Table::OpenNotes,
        }
    }
}

/// An entry's direct keys in the menu: its table command's keys but Enter (which runs the
/// selected entry).
pub fn direct_keys(
    keymaps: &crate::keymap::Keymaps,
    action: MenuAction,
) -> Vec<crate::keymap::Key> {
    keymaps
        .table
        .keys_of(action.command())
        .iter()
        .copied()
        .filter(|k| *k != crate::keymap::Key::Enter)
        .collect()
}

/// What an entry needs: permissions without which it cannot run, and permissions without which
/// it runs with less (said beside it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Needs {
    pub required: Vec<AccessCheck>,
    pub optional: Vec<(AccessCheck, &'static str)>,
}

/// The permissions each entry needs for `pod` (`helper_ns`: where helper pods run;
/// `helper_running`: a helper already runs on the pod's node, so none has to be created).
pub fn needs(action: MenuAction, pod: &PodKey, helper_ns: &str, helper_running: bool) -> Needs {
    let ns = Some(pod.namespace.as_str());
    match action {
        MenuAction::Detail => Needs {
            required: vec![AccessCheck::new("get", "pods", ns)],
            optional: vec![(AccessCheck::new("list", "events", ns), "no events")],
        },
        MenuAction::Logs => Needs {
            required: vec![AccessCheck::new("get", "pods/log", ns)],
            optional: Vec::new(),
        },
        // Packets need the same as sockets: exec into the helper (deploying or replacing it
        // with the capture variant creates a pod).
        MenuAction::Sockets | MenuAction::Packets => {
            let mut required = vec![AccessCheck::new("create", "pods/exec", Some(helper_ns))];
            if !helper_running {
                required.push(AccessCheck::new("create", "pods", Some(helper_ns)));
            }
            Needs {
                required,
                optional: Vec::new(),
            }
        }
        MenuAction::Export => Needs {
            required: vec![
                AccessCheck::new("get", "pods", ns),
                AccessCheck::new("get", "pods/log", ns),
            ],
            optional: vec![
                (AccessCheck::new("list", "events", ns), "without events"),
                (
                    AccessCheck::new("get", "configmaps", ns),
                    "without ConfigMaps",
                ),
                (
                    AccessCheck::new("get", "secrets", ns),
                    "without Secret HMACs",
                ),
                (AccessCheck::new("get", "nodes", None), "without the node"),
            ],
        },
        // The API server's proxy to the kubelet (cluster-scoped); the kubelet then checks the
        // API server's own identity, which no review of the user can tell.
        MenuAction::Checkpoint => Needs {
            required: vec![AccessCheck::new("create", "nodes/proxy", None)],
            optional: Vec::new(),
        },
        MenuAction::Clone => clone_needs(ns),
        MenuAction::Notes => Needs::default(),
    }
}

/// A forensic clone, in the pod's namespace: it reads the pod and its previous log, creates the
/// isolating NetworkPolicy, the log ConfigMap and the Pod; the rest makes it better informed.
fn clone_needs(ns: Option<&str>) -> Needs {
    fn in_group(
        verb: &'static str,
        group: &'static str,
        resource: &'static str,
        ns: Option<&str>,
    ) -> AccessCheck {
        AccessCheck {
            group,
            ..AccessCheck::new(verb, resource, ns)
        }
    }
    Needs {
        required: vec![
            AccessCheck::new("get", "pods", ns),
            AccessCheck::new("get", "pods/log", ns),
            in_group("create", "networking.k8s.io", "networkpolicies", ns),
            AccessCheck::new("create", "configmaps", ns),
            AccessCheck::new("create", "pods", ns),
        ],
        optional: vec![
            (
                AccessCheck::new("list", "pods", ns),
                "no dedup: an existing clone of the crash is not found",
            ),
            (
                in_group("list", "networking.k8s.io", "networkpolicies", ns),
                "allow policies that would still reach the clone are not found",
            ),
            (
                AccessCheck::new("list", "services", ns),
                "Services still selecting the clone are not found",
            ),
            (
                in_group("create", "snapshot.storage.k8s.io", "volumesnapshots", ns),
                "no snapshots of its claims, if it mounts any",
            ),
            (
                in_group("list", "apps", "daemonsets", Some("kube-system")),
                "the CNI is not named",
            ),
        ],
    }
}

/// One entry as the menu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    pub action: MenuAction,
    pub needs: Needs,
}

/// Whether an entry can run, from what the access checks said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryStatus {
    Allowed,
    /// Allowed, with less: what will be missing and why.
    Partial(Vec<String>),
    /// The answers are on their way.
    Checking,
    /// Missing permissions (verb and resource each).
    Denied(Vec<AccessCheck>),
    /// The check itself failed: the entry is allowed (the action says what fails), with why.
    Unchecked(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuState {
    pub pod: PodKey,
    pub entries: Vec<MenuEntry>,
    pub selected: usize,
}

impl MenuState {
    pub fn new(pod: PodKey, helper_ns: &str, helper_running: bool) -> Self {
        let entries = MenuAction::ALL
            .iter()
            .map(|&action| MenuEntry {
                action,
                needs: needs(action, &pod, helper_ns, helper_running),
            })
            .collect();
        Self {
            pod,
            entries,
            selected: 0,
        }
    }

    /// Every permission the entries need, once each.
    pub fn checks(&self) -> Vec<AccessCheck> {
        let mut all: Vec<AccessCheck> = self
            .entries
            .iter()
            .flat_map(|e| {
                e.needs
                    .required
                    .iter()
                    .chain(e.needs.optional.iter().map(|(c, _)| c))
            })
            .cloned()
            .collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn select_next(&mut self) {
        self.selected = (self.selected + 1) % self.entries.len().max(1);
    }

    pub fn select_prev(&mut self) {
        let n = self.entries.len().max(1);
        self.selected = (self.selected + n - 1) % n;
    }
}

/// Answers of access checks, each trusted for [`ACCESS_TTL`].
#[derive(Debug, Default)]
pub struct AccessCache {
    answers: HashMap<AccessCheck, (Result<bool, String>, Timestamp)>,
    asked: HashMap<AccessCheck, Timestamp>,
}

impl AccessCache {
    /// The checks with no fresh answer and no question in flight; marks them asked.
    pub fn to_ask(&mut self, checks: Vec<AccessCheck>, now: Timestamp) -> Vec<AccessCheck> {
        let fresh = |at: &Timestamp| now.duration_since(*at) < ACCESS_TTL;
        let pending: Vec<AccessCheck> = checks
            .into_iter()
            .filter(|c| !self.answers.get(c).is_some_and(|(_, at)| fresh(at)))
            .filter(|c| !self.asked.get(c).is_some_and(fresh))
            .collect();
        for c in &pending {
            self.asked.insert(c.clone(), now);
        }
        pending
    }

    pub fn answered(&mut self, check: AccessCheck, answer: Result<bool, String>, now: Timestamp) {
        self.asked.remove(&check);
        self.answers.insert(check, (answer, now));
    }

    /// None: not answered yet.
    pub fn get(&self, check: &AccessCheck) -> Option<&Result<bool, String>> {
        self.answers.get(check).map(|(a, _)| a)
    }

    pub fn status(&self, needs: &Needs) -> EntryStatus {
        let mut denied = Vec::new();
        let mut checking = false;
        let mut unchecked = None;
        for c in &needs.required {
            match self.get(c) {
                Some(Ok(true)) => {}
                Some(Ok(false)) => denied.push(c.clone()),
                Some(Err(e)) => unchecked = Some(e.clone()),
                None => checking = true,
            }
        }
        if !denied.is_empty() {
            return EntryStatus::Denied(denied);
        }
        if checking {
            return EntryStatus::Checking;
        }
        if let Some(e) = unchecked {
            return EntryStatus::Unchecked(e);
        }
        let less: Vec<String> = needs
            .optional
            .iter()
            .filter(|(c, _)| matches!(self.get(c), Some(Ok(false))))
            .map(|(c, what)| format!("{what} (needs {c})"))
            .collect();
        if less.is_empty() {
            EntryStatus::Allowed
        } else {
            EntryStatus::Partial(less)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    #[test]
    fn denied_names_the_missing_verb_and_resource() {
        let pod = PodKey::new("shop", "web-1");
        let menu = MenuState::new(pod, "ktui-system", false);
        let mut cache = AccessCache::default();
        let asked = cache.to_ask(menu.checks(), t(0));
        assert!(asked.contains(&AccessCheck::new(
            "create",
            "pods/exec",
            Some("ktui-system")
        )));
        for c in asked {
            let allowed =
                !(c.resource == "pods" && c.subresource == Some("exec")) && c.resource != "secrets";
            cache.answered(c, Ok(allowed), t(1));
        }
        let status = |a: MenuAction| {
            let e = menu.entries.iter().find(|e| e.action == a).unwrap();
            cache.status(&e.needs)
        };
        let EntryStatus::Denied(missing) = status(MenuAction::Sockets) else {
            panic!("sockets should be denied")
        };
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].to_string(), "create pods/exec in ktui-system");
        let EntryStatus::Partial(less) = status(MenuAction::Export) else {
            panic!("export runs without secrets")
        };
        assert_eq!(
            less,
            vec!["without Secret HMACs (needs get secrets in shop)".to_string()]
        );
        assert_eq!(status(MenuAction::Notes), EntryStatus::Allowed);
        assert_eq!(status(MenuAction::Logs), EntryStatus::Allowed);
    }

    #[test]
    fn answers_are_cached_briefly_and_not_asked_twice() {
        let checks = vec![AccessCheck::new("get", "pods", Some("a"))];
        let mut cache = AccessCache::default();
        assert_eq!(cache.to_ask(checks.clone(), t(0)).len(), 1);
        // In flight: not asked again.
        assert!(cache.to_ask(checks.clone(), t(1)).is_empty());
        cache.answered(checks[0].clone(), Ok(true), t(2));
        assert!(cache.to_ask(checks.clone(), t(30)).is_empty());
        assert_eq!(
            cache.to_ask(checks.clone(), t(63)).len(),
            1,
            "stale after the TTL"
        );
        let pending = Needs {
            required: checks,
            optional: Vec::new(),
        };
        assert_eq!(
            AccessCache::default().status(&pending),
            EntryStatus::Checking
        );
    }
}
