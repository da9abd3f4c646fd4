//! `ktui cleanup --case ID [--yes]`: every object the case's custody says ktui created in the
//! cluster (helper pods, the namespace it created, later clones and their NetworkPolicies) and
//! has not removed since, listed, then deleted after a confirmation. An object that no longer
//! carries ktui's `managed-by` label — or, for a forensic clone and its NetworkPolicy and
//! ConfigMaps, the `ktui.dev/forensic: "true"` label — is left alone (someone else owns it
//! now), and a namespace only goes when nothing but ktui's objects is in it. A clone pod is
//! waited for until it is gone (it runs while it terminates) before what isolates it goes.
//! Each deletion is a custody line.

use std::path::Path;

use crate::case::custody::{self, Record};
use crate::case::{Action, Case, CaseConfig, Entry, Target};
use crate::cli::{CleanupArgs, ConnArgs};
use crate::clone::LABEL_FORENSIC;
use crate::clone::flow::wait_gone;
use crate::cluster::kube::KubeCluster;
use crate::cluster::{Cluster, ClusterError, ObjectRef};
use crate::helper::cmd::remove::{Consent, ask, remove_namespace_objects};
use crate::helper::manifest::{LABEL_MANAGED_BY, MANAGER};
use crate::sanitize;

/// Custody actions that created an object, and those after which it is gone.
const CREATED: &[&str] = &["deploy_helper", "create_object"];
const GONE: &[&str] = &["remove_helper", "delete_object", "object_gone"];

/// The objects created and not removed since, in the order they were created.
pub fn outstanding(records: &[Record]) -> Vec<ObjectRef> {
    let mut live: Vec<ObjectRef> = Vec::new();
    for r in records.iter().filter(|r| r.result == "ok") {
        let Some((api_version, kind, namespace, name)) = Target::parse_object(&r.target) else {
            continue;
        };
        let object = ObjectRef {
            api_version,
            kind,
            namespace,
            name,
        };
        if CREATED.contains(&r.action.as_str()) {
            if !live.contains(&object) {
                live.push(object);
            }
        } else if GONE.contains(&r.action.as_str()) {
            live.retain(|o| o != &object);
        }
    }
    live
}

fn read_records(case: &Case) -> Result<Vec<Record>, String> {
    let path = case.dir().join(custody::CUSTODY_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

pub async fn cleanup_cmd(
    conn: &ConnArgs,
    args: &CleanupArgs,
    cases_dir: Option<&Path>,
    case: Option<&str>,
) -> u8 {
    let say = |text: &str| eprintln!("ktui cleanup: {}", sanitize::line(text));
    let Some(id) = case else {
        say("name the case whose objects to remove: --case ID (`ktui case list` shows them)");
        return 2;
    };
    let dir = crate::case::cases_dir(cases_dir);
    if !dir.join(id).join("case.json").is_file() {
        say(&format!("there is no case {id} in {}", dir.display()));
        return 1;
    }
    let case = match Case::open(&dir, Some(id), &CaseConfig::new("", "")) {
        Ok(c) => c,
        Err(e) => {
            say(&e.to_string());
            return 1;
        }
    };
    let records = match read_records(&case) {
        Ok(r) => r,
        Err(e) => {
            say(&e);
            return 1;
        }
    };
    let objects = outstanding(&records);
    if objects.is_empty() {
        println!("case {id}: ktui created nothing in the cluster that is still there");
        return 0;
    }
    println!("case {id}: ktui created, and has not removed:");
    for o in &objects {
        println!("  {}", sanitize::line(&o.to_string()));
    }
    // The cluster the case was collected on, unless --context says another.
    let mut opts = conn.connect_options();
    if opts.context.is_none() && !case.meta().context.is_empty() {
        opts.context = Some(case.meta().context.clone());
    }
    let cluster = match KubeCluster::connect(&opts).await {
        Ok(c) => c,
        Err(e) => {
            say(&e.to_string());
            return crate::triage_cmd::EXIT_NO_CLUSTER;
        }
    };
    let consent = Consent::detect(args.yes);
    let question = format!(
        "Delete these {} object(s) from context {}? [y/N] ",
        objects.len(),
        sanitize::line(&cluster.info().context)
    );
    let confirmed = match consent {
        Consent::Given => true,
        Consent::Ask => ask(question).await,
        Consent::Unavailable => {
            say("no terminal to confirm on: nothing deleted; run again with --yes to delete them");
            return 1;
        }
    };
    if !confirmed {
        println!("nothing deleted");
        return 0;
    }
    let mut failed = false;
    // Namespaces last: what is in them goes first.
    let (namespaces, others): (Vec<_>, Vec<_>) =
        objects.into_iter().partition(|o| o.kind == "Namespace");
    // Clone pods still there after their delete: their NetworkPolicy stays, so a clone is
    // never left running unisolated.
    let mut running_clones: Vec<ObjectRef> = Vec::new();
    for object in others.into_iter().rev() {
        if object.kind == "NetworkPolicy"
            && let Some(pod) = running_clones.iter().find(|p| {
                p.namespace == object.namespace
                    && object.name.strip_suffix("-isolate") == Some(p.name.as_str())
            })
        {
            say(&sanitize::line(&format!(
                "{object}: kept, because clone pod {} is still there (it stays isolated); run                  ktui cleanup again once it is gone",
                pod.name
            )));
            failed = true;
            continue;
        }
        let (line, ok) = delete_one(&cluster, &object).await;
        failed |= !ok;
        if object.kind == "Pod"
            && let Ok(info) = cluster.object_info(object.clone()).await
            && info.labels.get(LABEL_FORENSIC).map(String::as_str) == Some("true")
        {
            running_clones.push(object.clone());
        }
        if let Some(entry) = line
            && let Err(e) = case.record(&entry)
        {
            say(&format!("could not record it in custody: {e}"));
            failed = true;
        }
    }
    for ns in namespaces {
        match remove_namespace_objects(&cluster, &ns.name, Consent::Given).await {
            Ok(true) => {
                if let Err(e) = case.record(&Entry::ok(Action::DeleteObject, target(&ns), vec![])) {
                    say(&format!("could not record it in custody: {e}"));
                    failed = true;
                }
            }
            Ok(false) => {} // kept, and said why
            Err(()) => failed = true,
        }
    }
    u8::from(failed)
}

/// How long a deleted clone pod may take to go before cleanup moves on.
const POD_GONE: std::time::Duration = std::time::Duration::from_secs(90);

/// ktui's labels: `managed-by: ktui` (helpers, namespaces, a clone's NetworkPolicy and
/// ConfigMaps), or `ktui.dev/forensic: "true"` (a clone pod carries only its two ktui.dev
/// labels).
fn is_ktuis(labels: &std::collections::BTreeMap<String, String>) -> bool {
    labels.get(LABEL_MANAGED_BY).map(String::as_str) == Some(MANAGER)
        || labels.get(LABEL_FORENSIC).map(String::as_str) == Some("true")
}

fn target(o: &ObjectRef) -> Target {
    crate::runtime::keep::object_target(o)
}

/// Delete one object ktui created, when it still carries ktui's label. Returns the custody
/// line to append (None: left alone) and whether it went well.
async fn delete_one(cluster: &dyn Cluster, object: &ObjectRef) -> (Option<Entry>, bool) {
    let shown = sanitize::line(&object.to_string()).into_owned();
    let clone_pod = match cluster.object_info(object.clone()).await {
        Err(ClusterError::NotFound { .. }) => {
            println!("{shown}: already gone");
            return (
                Some(Entry::ok(
                    Action::Other("object_gone".into()),
                    target(object),
                    vec![],
                )),
                true,
            );
        }
        Err(e) => {
            eprintln!(
                "ktui cleanup: cannot read {shown}: {}",
                sanitize::line(&e.to_string())
            );
            return (None, false);
        }
        Ok(info) if !is_ktuis(&info.labels) => {
            println!(
                "{shown}: left alone: it no longer carries {LABEL_MANAGED_BY}={MANAGER} or \
                 {LABEL_FORENSIC}=true (someone else owns it now)"
            );
            return (None, true);
        }
        Ok(info) => {
            object.kind == "Pod"
                && info.labels.get(LABEL_FORENSIC).map(String::as_str) == Some("true")
        }
    };
    match cluster.delete(object.clone()).await {
        Ok(_) => {
            println!("deleted {shown}");
            if clone_pod && !wait_gone(cluster, object, POD_GONE).await {
                eprintln!(
                    "ktui cleanup: {shown} is still terminating after {}s: its NetworkPolicy \
                     is kept",
                    POD_GONE.as_secs()
                );
            }
            (
                Some(Entry::ok(Action::DeleteObject, target(object), vec![])),
                true,
            )
        }
        Err(e) => {
            let msg = e.to_string();
            eprintln!(
                "ktui cleanup: cannot delete {shown}: {}",
                sanitize::line(&msg)
            );
            (
                Some(Entry {
                    action: Action::DeleteObject,
                    target: target(object),
                    outcome: Err(msg),
                    artifacts: Vec::new(),
                }),
                false,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, target: &str, result: &str) -> Record {
        serde_json::from_value(serde_json::json!({
            "seq": 1, "ts": "2026-12-02T00:00:00.000000000Z",
            "actor": {"local_user": "u", "host": "h", "kube_user": null, "context": "c"},
            "action": action, "target": target, "result": result, "error": null,
            "artifacts": [], "prev": "0",
        }))
        .unwrap()
    }

    #[test]
    fn a_clone_is_ktuis_by_its_forensic_label() {
        let labels = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(is_ktuis(&labels(&[
            ("ktui.dev/forensic", "true"),
            ("ktui.dev/source-pod", "web")
        ])));
        assert!(is_ktuis(&labels(&[(
            "app.kubernetes.io/managed-by",
            "ktui"
        )])));
        assert!(!is_ktuis(&labels(&[("ktui.dev/forensic", "false")])));
        assert!(!is_ktuis(&labels(&[("app", "web")])));
    }

    #[test]
    fn created_minus_removed_in_creation_order() {
        let pod = "object/v1/Pod/ktui-system/ktui-helper-n1";
        let pod2 = "object/v1/Pod/ktui-system/ktui-helper-n2";
        let ns = "object/v1/Namespace/-/ktui-system";
        let records = vec![
            record("create_object", ns, "ok"),
            record("deploy_helper", pod, "ok"),
            record("deploy_helper", pod2, "ok"),
            record("capture_logs", "shop/web", "ok"),
            record("remove_helper", pod, "ok"),
            record("delete_object", pod2, "error"),
        ];
        let left: Vec<String> = outstanding(&records)
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(
            left,
            vec!["Namespace ktui-system", "Pod ktui-system/ktui-helper-n2"]
        );
    }
}
