//! The clone dialog in the console against the fixed demo cluster (which keeps what a clone
//! creates in memory): what the confirmation says (snapshots at 80×24 and 120×40), Enter
//! creating the NetworkPolicy, log ConfigMap and Pod with their records in the case, a second
//! `c` on the same crash offering the clone that exists, removal deleting it all, and an entry
//! the user lacks a permission for saying which.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{AccessCheck, Cluster, Scope};
use ktui::evidence::EvidenceKind;
use ktui::state::Mode;
use ktui::state::clone::ClonePhase;

const QUIET: Duration = Duration::from_millis(150);
/// The toolkit image the test console deploys (the default names the build's version).
const TOOLKIT: &str = "registry.demo/ktui-helper:test";

async fn harness(w: u16, h: u16) -> (App, DemoCluster) {
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo.clone()))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .helper_image(Some(TOOLKIT.to_string()))
        .build();
    app.dispatch(Action::Resize(w, h));
    common::settle_work(&mut app, QUIET).await;
    app.state.prepare_frame();
    (app, demo)
}

/// Type `keys`, then let the work they started finish.
async fn press(app: &mut App, keys: &str) {
    common::press(app, keys);
    common::settle_work(app, QUIET).await;
}

fn phase(app: &App) -> Option<&ClonePhase> {
    app.state.clone.dialog.as_ref().map(|d| &d.phase)
}

/// `text` with the age after "created " blanked: a clone is stamped with this machine's clock,
/// the console's is the demo's fixed one.
fn without_age(text: &str) -> String {
    let Some(at) = text.find("created ").map(|i| i + "created ".len()) else {
        return text.to_string();
    };
    let end = text[at..].find(" ago").map_or(at, |i| at + i);
    format!("{}{}{}", &text[..at], "·".repeat(end - at), &text[end..])
}

/// What the demo holds of clones: (kind, name) of every object labelled forensic, sorted.
async fn held(demo: &DemoCluster) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (av, kind) in [
        ("v1", "Pod"),
        ("v1", "ConfigMap"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
    ] {
        let found = demo
            .list_json(
                av,
                kind,
                Some("shop".into()),
                Some("ktui.dev/forensic=true".into()),
            )
            .await
            .unwrap();
        out.extend(found.iter().map(|o| {
            (
                kind.to_string(),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        }));
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_confirmation_says_what_is_created_in_order_and_every_warning() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, demo) = harness(w, h).await;
        press(&mut app, "/checkout\nc").await;
        assert!(matches!(app.state.mode, Mode::Clone));
        let Some(ClonePhase::Confirm(ready)) = phase(&app) else {
            panic!("{:?}", phase(&app))
        };
        let name = ready.summary.name.clone();
        assert!(name.contains("-forensic-"), "{name}");
        let text = common::screen(&mut app, w, h);
        let dialog = common::dialog_box(&text, "Clone shop/checkout-");
        for needle in [
            "⏎: create",
            "NetworkPolicy",
            "any node",
            "isolation depends on the CNI",
        ] {
            assert!(dialog.contains(needle), "{needle} at {w}x{h}:\n{dialog}");
        }
        if h < 30 {
            // Too long for 24 rows: cut, with the marker saying how to see the rest.
            assert!(dialog.contains("more: j/k"), "{dialog}");
        }
        insta::assert_snapshot!(format!("clone_confirm_{w}x{h}"), dialog);
        // Scrolled to its end, the records' place and the log's hash show.
        press(&mut app, &"j".repeat(40)).await;
        let end = common::dialog_box(&common::screen(&mut app, w, h), "Clone shop/checkout-");
        assert!(end.contains("sha256") && end.contains("/clone/"), "{end}");
        // Nothing was created by asking.
        assert!(held(&demo).await.is_empty());
        press(&mut app, "\x1b").await;
        assert!(app.state.clone.dialog.is_none());
    }
}

#[tokio::test]
async fn enter_creates_the_clone_its_records_count_as_evidence_and_x_removes_it() {
    let (mut app, demo) = harness(120, 40).await;
    press(&mut app, "/checkout\nc").await;
    let Some(ClonePhase::Confirm(ready)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    let (name, source) = (ready.summary.name.clone(), ready.summary.source.clone());
    press(&mut app, "\n").await;
    let Some(ClonePhase::Created(created)) = phase(&app) else {
        panic!("{:?} {:?}", phase(&app), app.state.toasts)
    };
    assert_eq!(created.key.name, name);
    let created = created.key.clone();
    assert_eq!(
        held(&demo).await,
        vec![
            ("ConfigMap".to_string(), format!("{name}-logs")),
            ("NetworkPolicy".to_string(), format!("{name}-isolate")),
            ("Pod".to_string(), name.clone()),
        ]
    );
    // The records are in the case and in the console's evidence.
    let records: Vec<&str> = app
        .state
        .evidence
        .items()
        .iter()
        .filter(|i| i.kind == EvidenceKind::CloneRecord)
        .map(|i| i.path.as_str())
        .collect();
    let dir = format!("artifacts/shop/{}/clone/", source.name);
    assert!(
        records
            .iter()
            .any(|p| *p == format!("{dir}{name}.clone.json")),
        "{records:?}"
    );
    assert!(records.iter().all(|p| p.starts_with(&dir)), "{records:?}");
    let text = common::screen(&mut app, 120, 40);
    let dialog = common::dialog_box(&text, "Clone shop/checkout-");
    // The shell line, cut with a `\` where it does not fit.
    let shell = format!("kubectl -n shop exec -it {name} -c checkout");
    assert!(dialog.contains(&shell), "{dialog}");
    assert!(
        dialog.contains("-c checkout -- \\") && dialog.contains("    /usr/local/bin/toolkit/sh"),
        "{dialog}"
    );
    assert!(dialog.contains(&format!("  {name}.clone.json")), "{dialog}");
    assert!(dialog.contains(&dir), "{dialog}");
    assert!(dialog.contains("x: remove it"), "{dialog}");

    // x: the removal question, Enter: gone.
    press(&mut app, "x").await;
    let Some(ClonePhase::RemoveConfirm(ask)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    assert_eq!(ask.clone.key, created);
    let text = common::screen(&mut app, 80, 24);
    let question = common::dialog_box(&text, "Remove clone");
    assert!(
        question.contains(&format!("NetworkPolicy {name}-isolate")),
        "{question}"
    );
    insta::assert_snapshot!("clone_remove_80x24", without_age(&question));
    press(&mut app, "\n").await;
    let Some(ClonePhase::Removed(removed)) = phase(&app) else {
        panic!("{:?} {:?}", phase(&app), app.state.toasts)
    };
    assert_eq!(removed.deleted.len(), 3, "{removed:?}");
    assert!(held(&demo).await.is_empty());
    let (_, case_dir) = app.state.evidence.case.clone().unwrap();
    let custody = std::fs::read_to_string(case_dir.join("custody.jsonl")).unwrap();
    assert_eq!(
        custody
            .lines()
            .filter(|l| l.contains("\"delete_object\"") && l.contains(&name))
            .count(),
        3,
        "{custody}"
    );
}

#[tokio::test]
async fn a_second_c_on_the_same_crash_offers_the_clone_that_exists() {
    let (mut app, demo) = harness(120, 40).await;
    press(&mut app, "/checkout\nc").await;
    press(&mut app, "\n").await;
    let Some(ClonePhase::Created(first)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    let first = first.key.clone();
    press(&mut app, "\n").await;
    press(&mut app, "c").await;
    let Some(ClonePhase::Confirm(ready)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    let existing = ready
        .summary
        .existing
        .clone()
        .expect("dedup found the clone");
    assert_eq!(existing.name, first.name);
    assert_eq!(ready.tally.records, 3, "the storm's three pods");
    let dialog = common::dialog_box(&common::screen(&mut app, 120, 40), "Clone shop/checkout-");
    assert!(
        dialog.contains(&format!(
            "a clone of this crash signature exists: {}",
            first.name
        )),
        "{dialog}"
    );
    assert!(
        dialog.contains("crashed container(s), 126 restart(s)"),
        "{dialog}"
    );
    assert!(dialog.contains("clone of this very pod"), "{dialog}");
    let small = common::dialog_box(&common::screen(&mut app, 80, 24), "Clone shop/checkout-");
    insta::assert_snapshot!("clone_offered_80x24", without_age(&small));
    // Neither f nor Enter creates one more: Enter points at the one there is.
    press(&mut app, "f").await;
    assert!(matches!(phase(&app), Some(ClonePhase::Confirm(_))));
    press(&mut app, "\n").await;
    assert!(app.state.clone.dialog.is_none());
    assert!(
        app.state
            .toasts
            .iter()
            .any(|t| t.text.contains(&first.name) && t.text.contains("toolkit/sh")),
        "{:?}",
        app.state.toasts
    );
    assert_eq!(held(&demo).await.len(), 3, "still one clone");

    // Another pod of the storm: the clone is offered, and f makes one of this pod anyway.
    press(&mut app, "u").await;
    app.state.prepare_frame();
    let other = app
        .state
        .pods
        .rows
        .iter()
        .position(|r| {
            r.pod_key().name.starts_with("checkout-") && r.pod_key() != &first_source(&first)
        })
        .unwrap();
    app.state.pods.selected = other;
    let other = app.state.pods.rows[other].pod_key().clone();
    press(&mut app, "c").await;
    let Some(ClonePhase::Confirm(ready)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    assert_eq!(
        ready.summary.existing.as_ref().map(|e| &e.name),
        Some(&first.name)
    );
    // f: the plan of this pod, read again without dedup, confirmed like any other.
    press(&mut app, "f").await;
    let Some(ClonePhase::Confirm(ready)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    assert!(ready.summary.existing.is_none());
    assert_eq!(ready.summary.source, other);
    // Only the storm's first pod had its log captured when it appeared: this one's was fetched
    // by this reading, into the case, and the console counts it.
    let log = ready
        .summary
        .log
        .as_ref()
        .and_then(|l| l.case_path.clone())
        .unwrap_or_else(|| panic!("{:?} {:?}", ready.summary.log, ready.summary.warnings));
    assert!(
        log.starts_with(&format!("artifacts/shop/{}/logs/", other.name)),
        "{log}"
    );
    assert!(
        app.state
            .evidence
            .items()
            .iter()
            .any(|i| i.path == log && i.kind == EvidenceKind::ContainerLogs),
        "{:?}",
        app.state.evidence.items()
    );
    press(&mut app, "\n").await;
    assert!(
        matches!(phase(&app), Some(ClonePhase::Created(c)) if c.key != first),
        "{:?}",
        phase(&app)
    );
    assert_eq!(held(&demo).await.len(), 6, "two clones");
}

/// The pod a clone was made of: its name without `-forensic-<8 hex>`.
fn first_source(clone: &ktui::cluster::PodKey) -> ktui::cluster::PodKey {
    let name = clone.name.rsplit_once("-forensic-").unwrap().0;
    ktui::cluster::PodKey::new(&clone.namespace, name)
}

#[tokio::test]
async fn without_create_networkpolicies_the_entry_and_the_dialog_say_so() {
    let (mut app, demo) = harness(120, 40).await;
    let denied = AccessCheck {
        group: "networking.k8s.io",
        ..AccessCheck::new("create", "networkpolicies", Some("shop"))
    };
    app.dispatch(Action::AccessChecked {
        checks: vec![denied],
        result: Ok(vec![false]),
    });
    press(&mut app, "/checkout\nm").await;
    let text = common::screen(&mut app, 120, 40);
    assert!(
        text.contains("clone: isolated forensic copy")
            && text.contains("disabled: needs create networkpolicies in shop"),
        "{text}"
    );
    press(&mut app, "c").await;
    assert!(app.state.clone.dialog.is_none());
    let toast = &app.state.toasts.last().unwrap().text;
    assert!(
        toast.contains("you lack create networkpolicies in shop") && toast.contains("ask an admin"),
        "{toast}"
    );
    // The direct key reads the plan, and the dialog says the create will be refused.
    press(&mut app, "\x1bc").await;
    let dialog = common::dialog_box(&common::screen(&mut app, 120, 40), "Clone shop/checkout-");
    assert!(
        dialog.contains("you lack create networkpolicies in shop: the API server will refuse it"),
        "{dialog}"
    );
    assert!(held(&demo).await.is_empty());
}

#[tokio::test]
async fn n_pins_the_clone_to_the_node_and_untrusted_text_is_drawn_harmless() {
    let (mut app, _demo) = harness(120, 40).await;
    press(&mut app, "/checkout\nc").await;
    press(&mut app, "n").await;
    let Some(ClonePhase::Confirm(ready)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    assert_eq!(ready.summary.node.as_deref(), Some("demo-node-1"));
    let dialog = common::dialog_box(&common::screen(&mut app, 120, 40), "Clone shop/checkout-");
    assert!(
        dialog.contains("Node       demo-node-1 (the source's; n: any node)"),
        "{dialog}"
    );
    // A reading again, answered by an error carrying escape sequences (an API server's words):
    // they reach the screen as visible placeholders.
    common::press(&mut app, "n");
    let request = app.state.clone.requests;
    app.dispatch(Action::ClonePrepared {
        request,
        result: Err("forbidden \u{1b}]0;owned\u{7}\u{1b}[2J by admission".into()),
    });
    common::settle_work(&mut app, QUIET).await;
    assert!(matches!(phase(&app), Some(ClonePhase::Failed { .. })));
    let text = common::screen(&mut app, 120, 40);
    let dialog = common::dialog_box(&text, "Clone shop/checkout-");
    assert!(
        dialog.contains("forbidden ␛]0;owned␇␛[2J by admission"),
        "{dialog}"
    );
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
}

#[tokio::test]
async fn enter_on_the_offered_clone_selects_its_row_marked_as_a_clone() {
    use ktui::cluster::PodEvent;
    let (mut app, _demo) = harness(120, 40).await;
    press(&mut app, "/checkout\nc").await;
    press(&mut app, "\n").await;
    let Some(ClonePhase::Created(created)) = phase(&app) else {
        panic!("{:?}", phase(&app))
    };
    let key = created.key.clone();
    press(&mut app, "\n").await;
    // The demo's watch does not list what a clone created: its pod arrives as a real cluster's
    // watch would send it.
    let source = first_source(&key);
    let mut row = app.state.pods.pod(&source).unwrap().clone();
    row.key = key.clone();
    row.uid = "demo-clone-uid".into();
    app.dispatch(Action::Pods(PodEvent::Applied(Box::new(row))));
    press(&mut app, "c").await;
    assert!(matches!(
        phase(&app),
        Some(ClonePhase::Confirm(r)) if r.summary.existing.as_ref().is_some_and(|e| e.name == key.name)
    ));
    press(&mut app, "\n").await;
    assert!(app.state.clone.dialog.is_none());
    assert!(app.state.pods.show_all);
    app.state.prepare_frame();
    assert_eq!(
        app.state.pods.selected_row().map(|r| r.pod_key()),
        Some(&key)
    );
    let text = common::screen(&mut app, 120, 40);
    // Its row, marked (the name cut in the middle to fit the column).
    assert!(
        text.lines()
            .any(|l| l.contains("⧉ checkout-") && l.contains(&key.name[key.name.len() - 8..])),
        "{text}"
    );
}

/// The console through `KubeCluster` against the fake API server, where the user may not
/// create pods: the dialog says so before, and after Enter the failure names the step, the
/// permission and what was rolled back; nothing of the clone is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pod_create_says_the_permission_and_what_was_rolled_back() {
    use ktui::cluster::PodKey;
    use ktui::intent::Intent;
    use ktui_fake_apiserver::Store;
    let store = Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1",
            "labels": {"app": "web"}},
        "spec": {"nodeName": "worker-1",
            "containers": [{"name": "app", "image": "registry.example/shop/web:1.4"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "registry.example/shop/web:1.4",
            "imageID": "registry.example/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "ready": false, "started": false, "restartCount": 7,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                "startedAt": "2026-11-20T09:58:01Z", "finishedAt": "2026-11-20T09:58:10Z"}}}]},
    }));
    store.set_logs("shop", "web-1", "app", true, b"panic: no database\n");
    store.forbid("create", "pods", Some("shop"));
    let setup = common::Setup::start(store).await;
    let mut app = App::builder(Arc::new(setup.cluster.clone()))
        .case(Some(common::test_case()))
        .scope(Scope::Namespace("shop".into()))
        .helper_image(Some(TOOLKIT.to_string()))
        .build();
    let key = PodKey::new("shop", "web-1");
    common::app_until(&mut app, "the pod list", 20, |a| {
        a.state.pods.pod(&key).is_some()
    })
    .await;
    app.dispatch(Action::Intent(Intent::Clone(key.clone())));
    common::app_until(&mut app, "the plan and the access answers", 20, |a| {
        matches!(phase(a), Some(ClonePhase::Confirm(_)))
            && !a.state.toasts.iter().any(|t| t.text.contains("checking"))
    })
    .await;
    let dialog = common::dialog_box(&common::screen(&mut app, 120, 40), "Clone shop/web-1");
    assert!(
        dialog.contains("you lack create pods in shop: the API server will refuse it"),
        "{dialog}"
    );
    common::press(&mut app, "\n");
    common::app_until(&mut app, "the create's end", 20, |a| {
        matches!(phase(a), Some(ClonePhase::Failed { .. }))
    })
    .await;
    let text = common::screen(&mut app, 120, 40);
    let dialog = common::dialog_box(&text, "Clone shop/web-1");
    for needle in [
        "Failed creating the clone of shop/web-1:",
        "missing permission: create pods in shop",
        "rolled back: deleted ConfigMap",
        "nothing of the clone is left",
    ] {
        assert!(dialog.contains(needle), "{needle}:\n{dialog}");
    }
    assert_eq!(setup.store().count("NetworkPolicy"), 0);
    assert_eq!(setup.store().count("Pod"), 1, "only the source");
}
