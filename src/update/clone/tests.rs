//! The clone dialog's state machine: keys and results in, phases and effects out (no IO).

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::SignedDuration;
use serde_json::json;

use crate::action::Action;
use crate::clone::flow::Existing;
use crate::cluster::demo::DemoCluster;
use crate::cluster::{ContextInfo, ObjectRef, PodEvent, PodKey, Scope};
use crate::effect::Effect;
use crate::intent::{ConfirmPolicy, Intent};
use crate::state::clone::{
    CloneLook, ClonePhase, CreatedClone, ForensicPod, PreparedClone, RemovedClone,
};
use crate::state::pods::{CrashTally, Row};
use crate::state::{AppState, Mode, Screen, ToastLevel};
use crate::update::update;

fn loaded() -> AppState {
    let demo = DemoCluster::fixed();
    let info = ContextInfo {
        context: "demo".into(),
        ..ContextInfo::default()
    };
    let mut s = AppState::new(info, Scope::All, true, demo.epoch());
    s.evidence.case = Some(("test".into(), std::path::PathBuf::from("/nonexistent")));
    update(&mut s, Action::Pods(PodEvent::Resync));
    for p in demo.pods() {
        let pod = Box::new(p.detail.summary.clone());
        update(&mut s, Action::Pods(PodEvent::Applied(pod)));
    }
    update(&mut s, Action::Pods(PodEvent::ResyncDone));
    s.prepare_frame();
    s
}

fn press(s: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(s: &mut AppState, c: char) -> Vec<Effect> {
    press(s, KeyCode::Char(c))
}

/// The checkout storm's row selected: its pod and crash signature.
fn select_checkout(s: &mut AppState) -> (PodKey, String) {
    let i = s
        .pods
        .rows
        .iter()
        .position(|r| matches!(r, Row::Crash { record, .. } if record.workload.name == "checkout"))
        .unwrap();
    s.pods.selected = i;
    let Row::Crash { record, .. } = &s.pods.rows[i] else {
        unreachable!()
    };
    (record.pod.clone(), record.signature.clone())
}

/// The request number of the reading `effects` ask for.
fn reading(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::PrepareClone { request, .. } => Some(*request),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no reading in {effects:?}"))
}

/// A plan for a clone of `pod` (signature `signature`), with `existing` found by dedup.
fn plan(pod: &PodKey, signature: &str, existing: Option<Existing>) -> PreparedClone {
    let mut p = crate::state::clone::tests::prepared();
    let name = format!("{}-forensic-0123abcd", pod.name);
    p.plan.name.clone_from(&name);
    p.plan.namespace.clone_from(&pod.namespace);
    p.plan.pod["metadata"]["name"] = json!(name);
    p.plan.pod["spec"]["containers"][0]["name"] = json!("checkout");
    p.source.container = "checkout".into();
    p.source.signature = signature.to_string();
    p.source.pod = json!({"metadata": {"name": pod.name, "namespace": pod.namespace},
        "spec": {"nodeName": "demo-node-1"}});
    p.existing = existing;
    PreparedClone(Arc::new(p))
}

fn prepared(s: &mut AppState, request: u64, look: CloneLook) -> Vec<Effect> {
    update(
        s,
        Action::ClonePrepared {
            request,
            result: Ok(look),
        },
    )
}

fn phase(s: &AppState) -> &ClonePhase {
    &s.clone.dialog.as_ref().expect("a clone dialog").phase
}

fn created(key: &PodKey) -> Box<CreatedClone> {
    Box::new(CreatedClone {
        key: key.clone(),
        container: "checkout".into(),
        created: vec![
            ObjectRef::new(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                Some(&key.namespace),
                format!("{}-isolate", key.name),
            ),
            ObjectRef::pod(key),
        ],
        recorded: vec![format!("artifacts/shop/x/clone/{}.clone.json", key.name)],
    })
}

#[test]
fn c_reads_the_cluster_then_enter_creates_and_the_result_closes() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    let effects = ch(&mut s, 'c');
    assert!(matches!(s.mode, Mode::Clone));
    let Some(Effect::PrepareClone {
        pod: asked,
        container,
        options,
        ..
    }) = effects
        .iter()
        .find(|e| matches!(e, Effect::PrepareClone { .. }))
    else {
        panic!("{effects:?}")
    };
    assert_eq!(asked, &pod);
    assert_eq!(
        container.as_deref(),
        Some("checkout"),
        "the row's container"
    );
    assert!(!options.same_node && options.forensic_namespace.is_none());
    assert_eq!(options.toolkit_image, s.helper.image);
    // The permissions the dialog names are asked (with their API groups).
    assert!(effects.iter().any(|e| matches!(e, Effect::CheckAccess(checks)
        if checks.iter().any(|c| c.resource == "networkpolicies" && c.group == "networking.k8s.io"))));
    let request = reading(&effects);
    assert!(
        press(&mut s, KeyCode::Enter).is_empty(),
        "nothing to confirm yet"
    );
    let plan = plan(&pod, &signature, None);
    assert!(prepared(&mut s, request, CloneLook::Source(plan.clone())).is_empty());
    let ClonePhase::Confirm(ready) = phase(&s) else {
        panic!("{:?}", phase(&s))
    };
    assert_eq!(
        ready.tally,
        CrashTally {
            records: 3,
            restarts: 126
        }
    );
    assert_eq!(
        press(&mut s, KeyCode::Enter),
        vec![Effect::CreateClone {
            pod: pod.clone(),
            prepared: plan.clone(),
        }]
    );
    assert!(matches!(phase(&s), ClonePhase::Creating { .. }));
    let key = PodKey::new("shop", plan.0.plan.name.clone());
    update(
        &mut s,
        Action::CloneCreated {
            pod: pod.clone(),
            result: Ok(created(&key)),
        },
    );
    assert!(matches!(phase(&s), ClonePhase::Created(c) if c.key == key));
    assert!(s.clone.known.contains(&key), "its row is marked");
    assert!(
        s.toasts
            .iter()
            .any(|t| t.text.contains("-- /usr/local/bin/toolkit/sh")),
        "{:?}",
        s.toasts
    );
    press(&mut s, KeyCode::Enter);
    assert!(s.clone.dialog.is_none());
    assert!(matches!(s.mode, Mode::Normal));
}

#[test]
fn an_answer_to_an_older_reading_is_dropped() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    let first = reading(&ch(&mut s, 'c'));
    press(&mut s, KeyCode::Esc);
    assert!(s.clone.dialog.is_none(), "Esc cancels a reading");
    let second = reading(&ch(&mut s, 'c'));
    assert_ne!(first, second);
    prepared(
        &mut s,
        first,
        CloneLook::Source(plan(&pod, &signature, None)),
    );
    assert!(matches!(phase(&s), ClonePhase::Preparing { .. }));
    prepared(
        &mut s,
        second,
        CloneLook::Source(plan(&pod, &signature, None)),
    );
    assert!(matches!(phase(&s), ClonePhase::Confirm(_)));
}

#[test]
fn n_reads_the_plan_again_pinned_to_the_source_node() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    let request = reading(&ch(&mut s, 'c'));
    prepared(
        &mut s,
        request,
        CloneLook::Source(plan(&pod, &signature, None)),
    );
    let effects = ch(&mut s, 'n');
    let [
        Effect::PrepareClone {
            request: again,
            container,
            options,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert!(*again > request && options.same_node);
    assert_eq!(container.as_deref(), Some("checkout"));
    assert!(matches!(phase(&s), ClonePhase::Preparing { .. }));
}

#[test]
fn a_clone_of_the_same_crash_is_offered_and_f_makes_another_only_beside_it() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    let existing = |name: &str| Existing {
        name: name.to_string(),
        namespace: "shop".into(),
        created_at: DemoCluster::fixed_epoch() - SignedDuration::from_mins(10),
        signature: signature.clone(),
    };
    // The clone of another pod of the storm: f creates one more, without the offer.
    let other = existing("checkout-6c9f8b7d54-k2mzq-forensic-0123abcd");
    let request = reading(&ch(&mut s, 'c'));
    let offered = plan(&pod, &signature, Some(other.clone()));
    prepared(&mut s, request, CloneLook::Source(offered.clone()));
    assert!(
        s.clone
            .known
            .contains(&PodKey::new("shop", other.name.clone()))
    );
    // f: the whole plan read again without dedup (its log, its checks), to confirm.
    let effects = ch(&mut s, 'f');
    let [
        Effect::PrepareClone {
            request: again,
            container,
            options,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(options.dedup_window, SignedDuration::ZERO);
    assert_eq!(container.as_deref(), Some("checkout"));
    let again = *again;
    let beside = plan(&pod, &signature, None);
    prepared(&mut s, again, CloneLook::Source(beside.clone()));
    assert!(matches!(phase(&s), ClonePhase::Confirm(r) if r.summary.existing.is_none()));
    // n keeps reading without dedup.
    let effects = ch(&mut s, 'n');
    assert!(matches!(effects.as_slice(),
        [Effect::PrepareClone { options, .. }] if options.dedup_window == SignedDuration::ZERO && options.same_node));
    let again = reading(&effects);
    prepared(&mut s, again, CloneLook::Source(beside.clone()));
    assert_eq!(
        press(&mut s, KeyCode::Enter),
        vec![Effect::CreateClone {
            pod: pod.clone(),
            prepared: beside,
        }]
    );
    assert_eq!(
        offered.0.existing,
        Some(other),
        "the first reading is not changed"
    );

    // The clone of this very pod: its name is taken, so f does nothing; Enter selects it,
    // which is not in the list here (its shell is said).
    let mut s = loaded();
    select_checkout(&mut s);
    let request = reading(&ch(&mut s, 'c'));
    let mine = existing(&format!("{}-forensic-0123abcd", pod.name));
    prepared(
        &mut s,
        request,
        CloneLook::Source(plan(&pod, &signature, Some(mine))),
    );
    assert!(ch(&mut s, 'f').is_empty());
    assert!(matches!(phase(&s), ClonePhase::Confirm(_)));
    assert!(
        press(&mut s, KeyCode::Enter).is_empty(),
        "Enter creates nothing"
    );
    assert!(s.clone.dialog.is_none());
    let toast = s.toasts.last().unwrap();
    assert!(
        toast.text.contains("created 10m ago") && toast.text.contains("not in the pod list"),
        "{}",
        toast.text
    );
}

#[test]
fn enter_on_the_offered_clone_selects_its_row() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    // The existing clone is a pod the watch lists.
    let mut row = s.pods.pod(&pod).unwrap().clone();
    row.key = PodKey::new("shop", "checkout-6c9f8b7d54-k2mzq-forensic-0123abcd");
    row.containers.iter_mut().for_each(|c| c.restarts = 0);
    update(
        &mut s,
        Action::Pods(PodEvent::Applied(Box::new(row.clone()))),
    );
    let request = reading(&ch(&mut s, 'c'));
    let existing = Existing {
        name: row.key.name.clone(),
        namespace: "shop".into(),
        created_at: DemoCluster::fixed_epoch(),
        signature: signature.clone(),
    };
    prepared(
        &mut s,
        request,
        CloneLook::Source(plan(&pod, &signature, Some(existing))),
    );
    press(&mut s, KeyCode::Enter);
    assert!(s.clone.dialog.is_none());
    assert_eq!(s.screen, Screen::Table);
    assert!(s.pods.show_all);
    assert_eq!(s.pods.selected_row().map(Row::pod_key), Some(&row.key));
}

#[test]
fn on_a_clone_c_asks_to_remove_it_and_s_adds_its_snapshots() {
    let mut s = loaded();
    select_checkout(&mut s);
    let request = reading(&ch(&mut s, 'c'));
    let key = PodKey::new("shop", "checkout-forensic-0123abcd");
    let clone = ForensicPod {
        key: key.clone(),
        source_pod: Some("checkout-6c9f8b7d54-7fb9x".into()),
        created_at: None,
        snapshots: vec!["checkout-forensic-0123abcd-data".into()],
    };
    prepared(&mut s, request, CloneLook::Clone(Box::new(clone.clone())));
    assert!(matches!(phase(&s), ClonePhase::RemoveConfirm(a) if !a.with_snapshots));
    ch(&mut s, 's');
    assert!(matches!(phase(&s), ClonePhase::RemoveConfirm(a) if a.with_snapshots));
    assert_eq!(
        press(&mut s, KeyCode::Enter),
        vec![Effect::RemoveClone {
            clone: key.clone(),
            with_snapshots: true
        }]
    );
    // Esc hides the removal; it goes on, and its end is a toast.
    press(&mut s, KeyCode::Esc);
    assert!(s.clone.dialog.as_ref().is_some_and(|d| !d.shown));
    assert!(matches!(s.mode, Mode::Normal));
    let removed = RemovedClone {
        key: key.clone(),
        deleted: vec![ObjectRef::pod(&key)],
        already_gone: Vec::new(),
        snapshots_kept: Vec::new(),
    };
    update(
        &mut s,
        Action::CloneRemoved {
            clone: key.clone(),
            result: Ok(Box::new(removed)),
        },
    );
    assert!(s.clone.dialog.is_none());
    assert!(!s.clone.known.contains(&key));
    assert!(
        s.toasts
            .iter()
            .any(|t| t.text == format!("removed clone {key}"))
    );

    // Without snapshots, s changes nothing; n keeps the clone.
    let request = reading(&ch(&mut s, 'c'));
    let bare = ForensicPod {
        snapshots: Vec::new(),
        ..clone
    };
    prepared(&mut s, request, CloneLook::Clone(Box::new(bare)));
    ch(&mut s, 's');
    assert!(matches!(phase(&s), ClonePhase::RemoveConfirm(a) if !a.with_snapshots));
    assert!(ch(&mut s, 'n').is_empty());
    assert!(s.clone.dialog.is_none());
}

#[test]
fn failures_say_what_failed() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    let request = reading(&ch(&mut s, 'c'));
    update(
        &mut s,
        Action::ClonePrepared {
            request,
            result: Err("cannot read pod shop/x: forbidden".into()),
        },
    );
    assert!(
        matches!(phase(&s), ClonePhase::Failed { message, .. } if message.contains("forbidden"))
    );
    press(&mut s, KeyCode::Enter);
    let request = reading(&ch(&mut s, 'c'));
    prepared(
        &mut s,
        request,
        CloneLook::Source(plan(&pod, &signature, None)),
    );
    press(&mut s, KeyCode::Enter);
    let why = "creating Pod shop/x failed: cannot create pods; rolled back: deleted ConfigMap shop/x-logs";
    update(
        &mut s,
        Action::CloneCreated {
            pod: pod.clone(),
            result: Err(why.into()),
        },
    );
    let ClonePhase::Failed { doing, message } = phase(&s) else {
        panic!("{:?}", phase(&s))
    };
    assert_eq!(doing, &format!("creating the clone of {pod}"));
    assert_eq!(message, why);
    assert!(
        s.toasts
            .iter()
            .any(|t| t.level == ToastLevel::Error && t.text.contains("rolled back"))
    );
}

#[test]
fn a_driver_saying_yes_creates_unless_a_clone_exists_and_saying_no_reads_nothing() {
    let mut s = loaded();
    let (pod, signature) = select_checkout(&mut s);
    s.confirm_policy = ConfirmPolicy::AssumeYes;
    let request = reading(&update(&mut s, Action::Intent(Intent::Clone(pod.clone()))));
    assert!(matches!(s.mode, Mode::Normal), "no dialog takes the keys");
    let plan_new = plan(&pod, &signature, None);
    let effects = prepared(&mut s, request, CloneLook::Source(plan_new.clone()));
    assert_eq!(
        effects,
        vec![Effect::CreateClone {
            pod: pod.clone(),
            prepared: plan_new
        }]
    );
    update(
        &mut s,
        Action::CloneCreated {
            pod: pod.clone(),
            result: Ok(created(&PodKey::new("shop", "c"))),
        },
    );
    let request = reading(&update(&mut s, Action::Intent(Intent::Clone(pod.clone()))));
    let existing = Existing {
        name: "c".into(),
        namespace: "shop".into(),
        created_at: DemoCluster::fixed_epoch(),
        signature: signature.clone(),
    };
    let effects = prepared(
        &mut s,
        request,
        CloneLook::Source(plan(&pod, &signature, Some(existing))),
    );
    assert!(effects.is_empty(), "the existing clone stands: {effects:?}");
    assert!(s.clone.dialog.is_none());

    s.confirm_policy = ConfirmPolicy::AssumeNo;
    let effects = update(&mut s, Action::Intent(Intent::Clone(pod)));
    assert!(effects.is_empty() && s.clone.dialog.is_none());
}

#[test]
fn without_a_case_nothing_is_read() {
    let mut s = loaded();
    s.evidence.case = None;
    select_checkout(&mut s);
    assert!(ch(&mut s, 'c').is_empty());
    assert!(s.clone.dialog.is_none());
    assert!(s.toasts.last().unwrap().text.starts_with("no case is open"));
}
