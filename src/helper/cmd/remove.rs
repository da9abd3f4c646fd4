//! `ktui helper remove`: helper pods; with `--all` also ktui's ServiceAccount and the namespace
//! ktui created, which is deleted only when it carries ktui's creation annotation, holds nothing
//! but helpers, and the user confirmed (a y/N question on a terminal, `--yes` in scripts).

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

use crate::cluster::{Cluster, ClusterError, HelperPod, ObjectInfo, ObjectRef, Scope};
use crate::helper::manifest;
use crate::sanitize;

use super::{helper_pods, where_};
use crate::helper::lifecycle;

/// How deleting a namespace is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// `--yes`.
    Given,
    /// Ask on the terminal.
    Ask,
    /// Neither `--yes` nor a terminal: keep the namespace.
    Unavailable,
}

impl Consent {
    pub fn detect(yes: bool) -> Self {
        if yes {
            Consent::Given
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Consent::Ask
        } else {
            Consent::Unavailable
        }
    }
}

/// What a namespace must not hold, besides helpers, for `--all` to delete it: the kinds whose
/// loss takes workloads, configuration or data with it. Kubernetes' own per-namespace objects
/// and ktui's are not counted ([`is_expected`]).
const CONTENT_KINDS: &[(&str, &str)] = &[
    ("v1", "Pod"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
];

/// Objects listed that Kubernetes puts in every namespace, or that are ktui's own.
fn is_expected(kind: &str, o: &ObjectInfo) -> bool {
    match kind {
        "Pod" => o.labels.get(manifest::LABEL_NAME).map(String::as_str) == Some(manifest::APP_NAME),
        "ServiceAccount" => o.name == "default" || is_ktui_service_account(o),
        "ConfigMap" => o.name == "kube-root-ca.crt",
        // Token Secrets of those ServiceAccounts (clusters before 1.24 create them).
        "Secret" => o
            .annotations
            .get("kubernetes.io/service-account.name")
            .is_some_and(|sa| sa == "default" || sa == manifest::SERVICE_ACCOUNT),
        _ => false,
    }
}

/// The helper's ServiceAccount as ktui's manifest labels it.
fn is_ktui_service_account(o: &ObjectInfo) -> bool {
    let label = |k: &str| o.labels.get(k).map(String::as_str);
    o.name == manifest::SERVICE_ACCOUNT
        && label(manifest::LABEL_NAME) == Some(manifest::APP_NAME)
        && label(manifest::LABEL_MANAGED_BY) == Some(manifest::MANAGER)
}

pub(super) async fn remove_cmd(
    cluster: &dyn Cluster,
    conn: &crate::cli::ConnArgs,
    node: Option<&str>,
    all: bool,
    consent: Consent,
) -> u8 {
    let (scope, pods) = match helper_pods(cluster, conn).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("ktui: {e}");
            return 1;
        }
    };
    let targets: Vec<&HelperPod> = pods
        .iter()
        .filter(|p| all || node.is_some_and(|n| lifecycle::on_node(p, n)))
        .collect();
    let mut failed = false;
    if targets.is_empty() {
        match node {
            Some(n) if !all => eprintln!(
                "no ktui helper pod for node {} {}: nothing to remove",
                sanitize::line(n),
                where_(&scope)
            ),
            _ => eprintln!("no ktui helper pods {}: nothing to remove", where_(&scope)),
        }
    }
    for p in &targets {
        let key = &p.summary.key;
        let on = p.summary.node.as_deref().unwrap_or("-");
        match cluster.delete(ObjectRef::pod(key)).await {
            Ok(true) => println!("deleted pod {key} (node {})", sanitize::line(on)),
            Ok(false) => println!("pod {key} was already gone"),
            Err(e) => {
                eprintln!("ktui: cannot delete pod {key}: {e}");
                failed = true;
            }
        }
    }
    if all && !failed {
        let mut namespaces: BTreeSet<String> = targets
            .iter()
            .map(|p| p.summary.key.namespace.clone())
            .collect();
        namespaces.insert(match &scope {
            Scope::Namespace(ns) => ns.clone(),
            Scope::All => manifest::DEFAULT_NAMESPACE.to_string(),
        });
        for ns in namespaces {
            failed |= remove_namespace_objects(cluster, &ns, consent)
                .await
                .is_err();
        }
    }
    u8::from(failed)
}

/// ktui's ServiceAccount, then the namespace itself when ktui created it, nothing but helpers
/// is in it, and deleting it is confirmed. Err on an error (already reported); Ok(true) when the
/// namespace was deleted (or was gone).
pub(crate) async fn remove_namespace_objects(
    cluster: &dyn Cluster,
    ns: &str,
    consent: Consent,
) -> Result<bool, ()> {
    let sa = ObjectRef::new("v1", "ServiceAccount", Some(ns), manifest::SERVICE_ACCOUNT);
    match cluster.object_info(sa.clone()).await {
        Ok(info) if is_ktui_service_account(&info) => match cluster.delete(sa.clone()).await {
            Ok(true) => println!("deleted {sa}"),
            Ok(false) => {}
            Err(e) => {
                eprintln!("ktui: cannot delete {sa}: {e}");
                return Err(());
            }
        },
        Ok(_) => println!("keeping {sa}: it does not carry ktui's labels"),
        Err(ClusterError::NotFound { .. }) => {}
        Err(e) => {
            eprintln!("ktui: cannot read {sa}: {e}");
            return Err(());
        }
    }
    let info = match cluster.object_info(ObjectRef::namespace(ns)).await {
        Ok(info) => info,
        Err(ClusterError::NotFound { .. }) => return Ok(true),
        Err(e) => {
            eprintln!("ktui: keeping namespace {ns}: cannot read it ({e})");
            return Ok(false);
        }
    };
    let Some(created_at) = info.annotations.get(manifest::ANNOTATION_CREATED_AT) else {
        println!(
            "keeping namespace {ns}: ktui did not create it (no {} annotation)",
            manifest::ANNOTATION_CREATED_AT
        );
        return Ok(false);
    };
    let created = format!("created by ktui at {}", sanitize::line(created_at));
    match other_objects(cluster, ns).await {
        Ok(others) if others.is_empty() => {}
        Ok(others) => {
            println!(
                "keeping namespace {ns} ({created}): it holds more than ktui's helpers: {}",
                listing(&others)
            );
            return Ok(false);
        }
        Err(e) => {
            eprintln!(
                "ktui: keeping namespace {ns}: cannot check that only helpers are in it ({e}); \
                 delete it yourself once you have checked: `kubectl delete namespace {ns}`"
            );
            return Ok(false);
        }
    }
    let question = format!(
        "Delete namespace {ns} ({created}; only ktui's helpers are in it) and everything in it? [y/N] "
    );
    let confirmed = match consent {
        Consent::Given => true,
        Consent::Ask => ask(question).await,
        Consent::Unavailable => {
            println!(
                "keeping namespace {ns} ({created}; only ktui's helpers are in it): no terminal to \
                 confirm on; delete it with `ktui helper remove --all -n {ns} --yes`"
            );
            return Ok(false);
        }
    };
    if !confirmed {
        println!("keeping namespace {ns}");
        return Ok(false);
    }
    match cluster.delete(ObjectRef::namespace(ns)).await {
        Ok(true) => println!("deleted namespace {ns} ({created})"),
        Ok(false) => {}
        Err(e) => {
            eprintln!("ktui: cannot delete namespace {ns}: {e}");
            return Err(());
        }
    }
    Ok(true)
}

/// `Kind/name` of every object in `ns` that is neither a helper nor Kubernetes' own.
async fn other_objects(cluster: &dyn Cluster, ns: &str) -> Result<Vec<String>, ClusterError> {
    let mut others = Vec::new();
    for (api_version, kind) in CONTENT_KINDS {
        let objects = cluster
            .list_objects(api_version, kind, ns.to_string())
            .await?;
        others.extend(
            objects
                .iter()
                .filter(|o| !is_expected(kind, o))
                .map(|o| format!("{kind}/{}", sanitize::line(&o.name))),
        );
    }
    Ok(others)
}

/// The first few, then how many more.
fn listing(objects: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = objects
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if objects.len() > SHOWN {
        text.push_str(&format!(" and {} more", objects.len() - SHOWN));
    }
    text
}

/// Ask on the terminal; only `y`/`yes` confirms.
pub(crate) async fn ask(question: String) -> bool {
    let answer = tokio::task::spawn_blocking(move || {
        let mut err = std::io::stderr().lock();
        let _ = err
            .write_all(question.as_bytes())
            .and_then(|()| err.flush());
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> ObjectInfo {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        ObjectInfo {
            name: name.into(),
            labels: map(labels),
            annotations: map(annotations),
        }
    }

    #[test]
    fn only_kubernetes_defaults_and_ktui_objects_are_expected() {
        let ktui = [
            (manifest::LABEL_NAME, manifest::APP_NAME),
            (manifest::LABEL_MANAGED_BY, manifest::MANAGER),
        ];
        assert!(is_expected("Pod", &object("ktui-helper-n1", &ktui, &[])));
        assert!(!is_expected("Pod", &object("web", &[], &[])));
        assert!(is_expected("ServiceAccount", &object("default", &[], &[])));
        assert!(is_expected(
            "ServiceAccount",
            &object("ktui-helper", &ktui, &[])
        ));
        // The name alone is not ktui's.
        assert!(!is_expected(
            "ServiceAccount",
            &object("ktui-helper", &[], &[])
        ));
        assert!(is_expected(
            "ConfigMap",
            &object("kube-root-ca.crt", &[], &[])
        ));
        assert!(!is_expected("ConfigMap", &object("app-config", &[], &[])));
        let token = [("kubernetes.io/service-account.name", "default")];
        assert!(is_expected(
            "Secret",
            &object("default-token-x", &[], &token)
        ));
        assert!(!is_expected("Secret", &object("db-password", &[], &[])));
        assert!(!is_expected(
            "PersistentVolumeClaim",
            &object("data", &[], &[])
        ));
    }

    #[test]
    fn listing_cuts_after_five() {
        let names: Vec<String> = (1..=7).map(|i| format!("Pod/p{i}")).collect();
        assert_eq!(
            listing(&names),
            "Pod/p1, Pod/p2, Pod/p3, Pod/p4, Pod/p5 and 2 more"
        );
    }
}
