//! The pod store and the crash table derived from it.
//!
//! Watch events update a map of compact `PodSummary`s and, per pod, its crash records. The
//! visible rows (grouped by signature, filtered, sorted) are derived in `refresh`, at most once per
//! frame, so a 50k-pod relist costs one pass rather than one per event.

mod filter;

use std::collections::{HashMap, HashSet};

use crate::cluster::{PodKey, PodSummary};
use crate::triage::current::{current, is_runtime_restart};
use crate::triage::kubectl::{PodColumns, pod_columns};
use crate::triage::{self, Category, CrashRecord};
pub use filter::Filter;

/// Sort orders cycled by `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    NewestCrash,
    Restarts,
    Repeats,
    Name,
}

impl SortBy {
    pub fn next(self) -> Self {
        match self {
            SortBy::NewestCrash => SortBy::Restarts,
            SortBy::Restarts => SortBy::Repeats,
            SortBy::Repeats => SortBy::Name,
            SortBy::Name => SortBy::NewestCrash,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortBy::NewestCrash => "newest crash",
            SortBy::Restarts => "restarts",
            SortBy::Repeats => "repeats",
            SortBy::Name => "name",
        }
    }
}

/// One visible row.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A crash group: its newest record and how many records share the signature.
    Crash {
        record: Box<CrashRecord>,
        repeats: usize,
        /// The record is a runtime restart ([`crate::triage::current::is_runtime_restart`]):
        /// shown as such, and below the real crashes.
        runtime_restart: bool,
    },
    /// Any pod (the `a` view).
    Pod { key: PodKey },
}

impl Row {
    pub fn pod_key(&self) -> &PodKey {
        match self {
            Row::Crash { record, .. } => &record.pod,
            Row::Pod { key } => key,
        }
    }

    pub fn is_runtime_restart(&self) -> bool {
        matches!(
            self,
            Row::Crash {
                runtime_restart: true,
                ..
            }
        )
    }

    /// Stable identity for keeping the selection across refreshes.
    fn identity(&self) -> String {
        match self {
            Row::Crash { record, .. } => record.signature.clone(),
            Row::Pod { key } => key.to_string(),
        }
    }
}

/// A watched pod with its `kubectl get pods` columns, worked out once per change.
#[derive(Debug)]
struct Stored {
    summary: PodSummary,
    columns: PodColumns,
}

#[derive(Debug, Default)]
pub struct PodsState {
    pods: HashMap<PodKey, Stored>,
    /// Pod UID → key, for naming what the node helper could only identify by UID.
    by_uid: HashMap<String, PodKey>,
    records: HashMap<PodKey, Vec<CrashRecord>>,
    /// Pods seen during the current relist (between `Resync` and `ResyncDone`).
    resync_seen: Option<HashSet<PodKey>>,
    /// Signatures seen this session (for first-appearance evidence capture).
    seen_signatures: HashSet<String>,
    pub rows: Vec<Row>,
    pub selected: usize,
    pub filter: Filter,
    pub sort: SortBy,
    pub show_all: bool,
    /// Show every record instead of one row per signature.
    pub ungrouped: bool,
    dirty: bool,
    /// True once the first list has completed.
    pub listed: bool,
}

/// Counts for the status bar.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pods: usize,
    pub crashed: usize,
    pub not_started: usize,
    pub evicted: usize,
    pub groups: usize,
}

impl PodsState {
    pub fn begin_resync(&mut self) {
        self.resync_seen = Some(HashSet::new());
    }

    /// Apply one pod; returns crash records whose signature appears for the first time.
    pub fn apply(&mut self, pod: PodSummary) -> Vec<CrashRecord> {
        let key = pod.key.clone();
        if let Some(seen) = &mut self.resync_seen {
            seen.insert(key.clone());
        }
        let records = triage::classify(&pod);
        let fresh: Vec<CrashRecord> = records
            .iter()
            .filter(|r| self.seen_signatures.insert(r.signature.clone()))
            .cloned()
            .collect();
        if records.is_empty() {
            self.records.remove(&key);
        } else {
            self.records.insert(key.clone(), records);
        }
        if !pod.uid.is_empty() {
            self.by_uid.insert(pod.uid.clone(), key.clone());
        }
        let columns = pod_columns(&pod);
        self.pods.insert(
            key,
            Stored {
                summary: pod,
                columns,
            },
        );
        self.dirty = true;
        fresh
    }

    pub fn end_resync(&mut self) {
        if let Some(seen) = self.resync_seen.take() {
            self.pods.retain(|k, _| seen.contains(k));
            self.records.retain(|k, _| seen.contains(k));
            self.by_uid.retain(|_, k| seen.contains(k));
        }
        self.listed = true;
        self.dirty = true;
    }

    pub fn delete(&mut self, key: &PodKey) {
        if let Some(pod) = self.pods.remove(key) {
            self.by_uid.remove(&pod.summary.uid);
        }
        self.records.remove(key);
        self.dirty = true;
    }

    /// Forget everything (namespace or context switch).
    pub fn clear(&mut self) {
        *self = PodsState {
            filter: std::mem::take(&mut self.filter),
            sort: self.sort,
            show_all: self.show_all,
            ungrouped: self.ungrouped,
            seen_signatures: std::mem::take(&mut self.seen_signatures),
            ..PodsState::default()
        };
        self.dirty = true;
    }

    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn pod(&self, key: &PodKey) -> Option<&PodSummary> {
        self.pods.get(key).map(|p| &p.summary)
    }

    /// Every watched pod, in no order.
    pub fn all(&self) -> impl Iterator<Item = &PodSummary> {
        self.pods.values().map(|p| &p.summary)
    }

    /// The pod's READY, STATUS and RESTARTS as `kubectl get pods` shows them.
    pub fn columns(&self, key: &PodKey) -> Option<&PodColumns> {
        self.pods.get(key).map(|p| &p.columns)
    }

    /// The pod with this UID, if it is in the watched scope.
    pub fn key_of_uid(&self, uid: &str) -> Option<&PodKey> {
        self.by_uid.get(uid)
    }

    pub fn records_of(&self, key: &PodKey) -> &[CrashRecord] {
        self.records.get(key).map_or(&[], Vec::as_slice)
    }

    /// What the table knows of one crash signature, whatever the filter: how many records
    /// (pods, containers) share it, and their restarts added up (a record without a restart
    /// count is one crash). What a forensic clone of that signature stands for.
    pub fn signature_tally(&self, signature: &str) -> CrashTally {
        self.records
            .values()
            .flatten()
            .filter(|r| r.signature == signature)
            .fold(CrashTally::default(), |t, r| CrashTally {
                records: t.records + 1,
                restarts: t.restarts + u64::from(r.restarts.unwrap_or(1).max(1)),
            })
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            pods: self.pods.len(),
            ..Counts::default()
        };
        let mut groups = HashSet::new();
        for r in self.records.values().flatten() {
            match r.category {
                Category::Crashed => c.crashed += 1,
                Category::NotStarted => c.not_started += 1,
                Category::Evicted => c.evicted += 1,
            }
            groups.insert(r.signature.as_str());
        }
        c.groups = groups.len();
        c
    }

    /// Recompute visible rows if anything changed; keeps the selection on the same row.
    pub fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let keep = self.selected_row().map(Row::identity);
        self.rows = if self.show_all {
            self.pod_rows()
        } else {
            self.crash_rows()
        };
        self.selected = keep
            .and_then(|id| self.rows.iter().position(|r| r.identity() == id))
            .unwrap_or_else(|| self.selected.min(self.rows.len().saturating_sub(1)));
    }

    fn crash_rows(&self) -> Vec<Row> {
        // Each record with whether it is a runtime restart, matched on what its row shows.
        let mut all: Vec<(&CrashRecord, bool)> = self
            .records
            .iter()
            .filter_map(|(key, records)| Some((self.pods.get(key)?, records)))
            .flat_map(|(pod, records)| records.iter().map(move |r| (r, &pod.summary)))
            .filter_map(|(r, pod)| {
                let now = current(r, pod);
                let restart = is_runtime_restart(r, now);
                let state = now.label();
                let marked = if restart { RUNTIME_RESTART } else { "" };
                let shown = haystack(r).into_iter().chain([state.as_ref(), marked]);
                self.filter.matches(shown).then_some((r, restart))
            })
            .collect();
        let mut repeats: HashMap<&str, usize> = HashMap::new();
        for (r, _) in &all {
            *repeats.entry(r.signature.as_str()).or_default() += 1;
        }
        // Sort and group references; clone only the records that become rows.
        all.sort_by(|a, b| triage::newest_first(a.0, b.0));
        if !self.ungrouped {
            let mut seen = HashSet::new();
            all.retain(|(r, _)| seen.insert(r.signature.as_str()));
        }
        let mut rows: Vec<Row> = all
            .into_iter()
            .map(|(record, runtime_restart)| {
                let n = repeats.get(record.signature.as_str()).copied().unwrap_or(1);
                Row::Crash {
                    record: Box::new(record.clone()),
                    repeats: n,
                    runtime_restart,
                }
            })
            .collect();
        let key = |r: &Row| match r {
            Row::Crash {
                record, repeats, ..
            } => (record.restarts.unwrap_or(0), *repeats),
            Row::Pod { .. } => (0, 0),
        };
        match self.sort {
            SortBy::NewestCrash => {}
            SortBy::Restarts => rows.sort_by_key(|r| std::cmp::Reverse(key(r).0)),
            SortBy::Repeats => rows.sort_by_key(|r| std::cmp::Reverse(key(r).1)),
            SortBy::Name => rows.sort_by(|a, b| a.pod_key().cmp(b.pod_key())),
        }
        // Runtime restarts go below the real crashes whatever the order (the sort is stable).
        rows.sort_by_key(Row::is_runtime_restart);
        rows
    }

    /// Every pod matching the filter on what its row shows (kubectl's STATUS among it) or on
    /// the reasons of its crash records (`/oom` finds a pod OOMKilled before its restart).
    fn pod_rows(&self) -> Vec<Row> {
        let mut keys: Vec<&Stored> = self
            .pods
            .values()
            .filter(|p| {
                let s = &p.summary;
                let reasons = self
                    .records_of(&s.key)
                    .iter()
                    .filter_map(|r| r.reason.as_deref());
                self.filter.matches(
                    [
                        s.key.namespace.as_str(),
                        &s.key.name,
                        &p.columns.status,
                        s.node.as_deref().unwrap_or(""),
                        &s.workload.name,
                    ]
                    .into_iter()
                    .chain(reasons),
                )
            })
            .collect();
        match self.sort {
            SortBy::Restarts => keys.sort_by(|a, b| {
                (b.columns.restarts.cmp(&a.columns.restarts))
                    .then_with(|| a.summary.key.cmp(&b.summary.key))
            }),
            _ => keys.sort_by(|a, b| a.summary.key.cmp(&b.summary.key)),
        }
        keys.into_iter()
            .map(|p| Row::Pod {
                key: p.summary.key.clone(),
            })
            .collect()
    }

    pub fn select_next(&mut self, n: usize) {
        self.selected = (self.selected + n).min(self.rows.len().saturating_sub(1));
    }

    pub fn select_prev(&mut self, n: usize) {
        self.selected = self.selected.saturating_sub(n);
    }

    pub fn select_first(&mut self) {
        self.selected = 0;
    }

    pub fn select_last(&mut self) {
        self.selected = self.rows.len().saturating_sub(1);
    }
}

/// One crash signature as the table knows it ([`PodsState::signature_tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrashTally {
    /// Records sharing the signature (one per crashed container of a pod).
    pub records: usize,
    /// Their restarts added up.
    pub restarts: u64,
}

/// What the REASON of a runtime-restart row says.
pub const RUNTIME_RESTART: &str = "runtime restart";

fn haystack(r: &CrashRecord) -> [&str; 7] {
    [
        &r.pod.namespace,
        &r.pod.name,
        r.container.as_deref().unwrap_or(""),
        r.reason.as_deref().unwrap_or(""),
        r.node.as_deref().unwrap_or(""),
        &r.workload.name,
        r.category.as_str(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;

    fn loaded() -> PodsState {
        let mut s = PodsState::default();
        s.begin_resync();
        for p in DemoCluster::fixed().pods() {
            s.apply(p.detail.summary.clone());
        }
        s.end_resync();
        s.refresh();
        s
    }

    /// A running demo pod of the `web` Deployment.
    fn demo_web_pod(demo: &DemoCluster) -> &PodSummary {
        demo.pods()
            .iter()
            .map(|p| &p.detail.summary)
            .find(|p| p.key.name == "web-6d4cf56db6-2xk8j")
            .unwrap_or_else(|| unreachable!("demo has web pods"))
    }

    #[test]
    fn crash_storm_is_one_group_with_a_count() {
        let s = loaded();
        let checkout: Vec<_> = s
            .rows
            .iter()
            .filter(
                |r| matches!(r, Row::Crash { record, .. } if record.workload.name == "checkout"),
            )
            .collect();
        assert_eq!(checkout.len(), 1);
        assert!(matches!(checkout[0], Row::Crash { repeats: 3, .. }));
        let Row::Crash { record, .. } = checkout[0] else {
            unreachable!()
        };
        let signature = record.signature.clone();
        // Whatever the filter hides: the three pods of the storm, 41 + 42 + 43 restarts.
        let mut s = s;
        s.filter.text = "nothing matches this".into();
        s.mark_dirty();
        s.refresh();
        assert_eq!(
            s.signature_tally(&signature),
            CrashTally {
                records: 3,
                restarts: 126
            }
        );
        assert_eq!(
            s.signature_tally("no such signature"),
            CrashTally::default()
        );
    }

    #[test]
    fn filter_narrows_and_negates() {
        let mut s = loaded();
        let all = s.rows.len();
        s.filter.text = "oom".into();
        s.mark_dirty();
        s.refresh();
        assert_eq!(s.rows.len(), 1);
        s.filter.text = "!oom".into();
        s.mark_dirty();
        s.refresh();
        assert_eq!(s.rows.len(), all - 1);
    }

    #[test]
    fn relist_drops_pods_not_seen_again() {
        let mut s = loaded();
        let before = s.counts().pods;
        s.begin_resync();
        if let Some(p) = DemoCluster::fixed().pods().first() {
            s.apply(p.detail.summary.clone());
        }
        s.end_resync();
        assert!(before > 1);
        assert_eq!(s.counts().pods, 1);
    }

    #[test]
    fn first_appearance_is_reported_once() {
        let mut s = PodsState::default();
        let demo = DemoCluster::fixed();
        let p = demo
            .pods()
            .iter()
            .find(|p| p.detail.summary.workload.name == "checkout")
            .map(|p| p.detail.summary.clone());
        let Some(p) = p else { unreachable!() };
        assert_eq!(s.apply(p.clone()).len(), 1);
        assert!(s.apply(p).is_empty());
    }

    /// The all-pods view shows and filters kubectl's STATUS (a pod being deleted reads
    /// Terminating), and finds a pod by its crash records' reasons too (`/oom`: kubectl says
    /// Running once the OOMKilled container restarted).
    #[test]
    fn all_pods_filter_on_kubectl_status_and_crash_reasons() {
        let mut s = loaded();
        let demo = DemoCluster::fixed();
        let web = demo_web_pod(&demo);
        let mut web = web.clone();
        web.deletion_timestamp = Some(demo.epoch());
        s.apply(web.clone());
        let status = |s: &PodsState, name: &str| {
            s.pods
                .values()
                .find(|p| p.summary.key.name == name)
                .map(|p| p.columns.status.clone())
        };
        assert_eq!(
            status(&s, "web-6d4cf56db6-2xk8j").as_deref(),
            Some("Terminating")
        );
        assert_eq!(
            status(&s, "checkout-6c9f8b7d54-7fb9x").as_deref(),
            Some("CrashLoopBackOff")
        );
        s.show_all = true;
        let shown = |s: &mut PodsState, filter: &str| -> Vec<String> {
            s.filter.text = filter.into();
            s.mark_dirty();
            s.refresh();
            s.rows.iter().map(|r| r.pod_key().name.clone()).collect()
        };
        assert_eq!(shown(&mut s, "terminating"), ["web-6d4cf56db6-2xk8j"]);
        assert_eq!(shown(&mut s, "imagepull"), ["search-5b6c7d8e9f-abcde"]);
        assert_eq!(shown(&mut s, "oom"), ["ledger-worker-5d8c7b6f4-tq9wn"]);
        assert_eq!(
            shown(&mut s, "crashloop"),
            [
                "api-gateway-7d9f6c5b8-xh2lp",
                "checkout-6c9f8b7d54-7fb9x",
                "checkout-6c9f8b7d54-k2mzq",
                "checkout-6c9f8b7d54-p8d4s",
            ]
        );
    }

    /// Five containers back after a runtime restart (Unknown, exit 255, running again): the
    /// newest crashes, with the most restarts and repeats, first by name; still they sort below
    /// every real crash, in every order, and the filter finds them as "runtime restart".
    #[test]
    fn runtime_restarts_sort_below_real_crashes() {
        let mut s = loaded();
        let demo = DemoCluster::fixed();
        let web = demo_web_pod(&demo);
        for i in 0..5 {
            let mut p = web.clone();
            p.key = PodKey::new("aaa", format!("web-{i}"));
            p.uid = format!("uid-restarted-{i}");
            let c = &mut p.containers[0];
            c.restarts = 500;
            c.last_state = crate::cluster::ContainerState::Terminated {
                exit_code: 255,
                signal: None,
                reason: Some("Unknown".into()),
                message: None,
                started_at: None,
                finished_at: Some(demo.epoch()),
            };
            s.apply(p);
        }
        for sort in [
            SortBy::NewestCrash,
            SortBy::Restarts,
            SortBy::Repeats,
            SortBy::Name,
        ] {
            s.sort = sort;
            s.mark_dirty();
            s.refresh();
            let restarts: Vec<bool> = s.rows.iter().map(Row::is_runtime_restart).collect();
            assert_eq!(restarts.len(), 9, "{sort:?}");
            assert_eq!(restarts.last(), Some(&true), "{sort:?}: {:#?}", s.rows);
            assert!(restarts[..8].iter().all(|r| !r), "{sort:?}: {:#?}", s.rows);
            assert!(matches!(s.rows[8], Row::Crash { repeats: 5, .. }));
        }
        s.filter.text = "runtime restart".into();
        s.mark_dirty();
        s.refresh();
        assert_eq!(s.rows.len(), 1);
    }

    #[test]
    fn selection_follows_its_row() {
        let mut s = loaded();
        s.select_last();
        let id = s.selected_row().map(Row::identity);
        s.sort = SortBy::Name;
        s.mark_dirty();
        s.refresh();
        assert_eq!(s.selected_row().map(Row::identity), id);
    }
}
