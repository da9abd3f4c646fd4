//! The controller's permissions: one rule per thing the chosen flags make it do, each with why,
//! gathered per place (a namespace, or cluster-wide) into one Role per namespace and at most
//! one ClusterRole. Never a wildcard: every verb, resource and API group is named.
//!
//! The rules follow the code that calls the API: the watch and evidence capture
//! (`cluster/kube*`, `collect.rs`), the clone flow (`clone/flow/`), the helper lifecycle
//! (`helper/lifecycle.rs`), checkpoints (`checkpoint/`).

use std::collections::BTreeMap;

use crate::cluster::Scope;

/// Where a rule applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// A ClusterRole: cluster-scoped resources, or every namespace (`-A`).
    Cluster,
    Namespace(String),
}

impl Place {
    /// The watch scope's place: every namespace with `-A`, else the one namespace.
    pub fn of(scope: &Scope) -> Place {
        match scope {
            Scope::All => Place::Cluster,
            Scope::Namespace(ns) => Place::Namespace(ns.clone()),
        }
    }
}

/// One permission: verbs on an API group's resource (optionally only the named objects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub group: &'static str,
    /// `pods`, or a subresource `pods/exec`.
    pub resource: &'static str,
    pub names: Vec<String>,
    pub verbs: Vec<&'static str>,
    /// Why the controller needs it (one per flag or feature that asked for it).
    pub why: Vec<String>,
}

/// Rules of one API group with the same verbs and reasons, as one role rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedRule {
    pub group: &'static str,
    pub resources: Vec<&'static str>,
    pub names: Vec<String>,
    pub verbs: Vec<&'static str>,
    pub why: Vec<String>,
}

/// The verbs in the order the rules list them.
const VERB_ORDER: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

/// Granting either makes the role close to cluster-admin: said in the YAML and the README.
pub const POWERFUL: &[&str] = &["pods/exec", "nodes/proxy"];

/// What `pods/exec` and `nodes/proxy` amount to, said plainly above their rules and in the
/// manifest's header.
pub const EXEC_POWER: &str = "WARNING: pods/exec runs any command in the pods it covers (here \
    the node helper pods, which are close to root on their nodes): with it this role is close to \
    cluster-admin.";
pub const PROXY_POWER: &str = "WARNING: nodes/proxy reaches every kubelet's whole API (exec into \
    and read the logs of any container on any node, bypassing pod-level RBAC and its audit): with \
    it this role is close to cluster-admin.";

/// The rules, gathered: per place, one [`Rule`] per (group, resource, names), verbs merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub places: BTreeMap<Place, Vec<Rule>>,
}

impl Grants {
    /// Grant `verbs` on `group`'s `resource` at `place`, because `why`.
    pub fn grant(
        &mut self,
        place: &Place,
        group: &'static str,
        resource: &'static str,
        verbs: &[&'static str],
        why: &str,
    ) {
        self.grant_named(place, group, resource, &[], verbs, why);
    }

    /// As [`Self::grant`], only on the objects named `names`.
    pub fn grant_named(
        &mut self,
        place: &Place,
        group: &'static str,
        resource: &'static str,
        names: &[&str],
        verbs: &[&'static str],
        why: &str,
    ) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let rules = self.places.entry(place.clone()).or_default();
        let at = rules
            .iter()
            .position(|r| r.group == group && r.resource == resource && r.names == names);
        let rule = match at.and_then(|i| rules.get_mut(i)) {
            Some(rule) => rule,
            None => {
                rules.push(Rule {
                    group,
                    resource,
                    names,
                    verbs: Vec::new(),
                    why: Vec::new(),
                });
                let Some(rule) = rules.last_mut() else {
                    return;
                };
                rule
            }
        };
        for verb in verbs {
            if !rule.verbs.contains(verb) {
                rule.verbs.push(verb);
            }
        }
        rule.verbs
            .sort_by_key(|v| VERB_ORDER.iter().position(|o| o == v).unwrap_or(usize::MAX));
        if !rule.why.iter().any(|w| w == why) {
            rule.why.push(why.to_string());
        }
    }

    /// The rules of `place` (none when nothing is granted there).
    pub fn rules(&self, place: &Place) -> &[Rule] {
        self.places.get(place).map_or(&[], Vec::as_slice)
    }

    /// The rules of `place` as a role lists them: resources of one API group granted the same
    /// verbs for the same reasons share a rule.
    pub fn folded(&self, place: &Place) -> Vec<FoldedRule> {
        let mut out: Vec<FoldedRule> = Vec::new();
        for rule in self.rules(place) {
            let same = out.iter_mut().find(|f| {
                f.group == rule.group
                    && f.names == rule.names
                    && f.verbs == rule.verbs
                    && f.why == rule.why
            });
            match same {
                Some(f) => f.resources.push(rule.resource),
                None => out.push(FoldedRule {
                    group: rule.group,
                    resources: vec![rule.resource],
                    names: rule.names.clone(),
                    verbs: rule.verbs.clone(),
                    why: rule.why.clone(),
                }),
            }
        }
        out
    }

    /// Whether `resource` (e.g. `pods/exec`) is granted anywhere.
    pub fn grants(&self, resource: &str) -> bool {
        self.places
            .values()
            .flatten()
            .any(|r| r.resource == resource)
    }
}

/// What the flags make the controller do, as permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs<'a> {
    pub watch: &'a Scope,
    /// Where the controller runs (its Lease lives there).
    pub controller_namespace: &'a str,
    /// Where helper pods run (the runtime deploys and reaches them there).
    pub helper_namespace: &'a str,
    pub auto_clone: bool,
    pub checkpoint: bool,
    /// Sockets or packets: the controller reaches node helpers.
    pub uses_helper: bool,
    pub deploy_helper: bool,
}

/// Every rule `needs` calls for.
pub fn grants(needs: &Needs<'_>) -> Grants {
    let mut g = Grants::default();
    let watch = Place::of(needs.watch);
    watch_rules(&mut g, &watch);
    g.grant(
        &Place::Namespace(needs.controller_namespace.to_string()),
        "coordination.k8s.io",
        "leases",
        &["get", "create", "update"],
        "Leader election: with more than one replica only the holder of the Lease acts (granted \
         with one replica too, so scaling up needs no new role).",
    );
    if needs.auto_clone {
        clone_rules(&mut g, &watch, needs.watch);
    }
    if needs.checkpoint {
        g.grant(
            &Place::Cluster,
            "",
            "nodes/proxy",
            &["create"],
            &format!(
                "ktui.dev/checkpoint: checkpoint a container through its kubelet (POST \
                 /api/v1/nodes/NODE/proxy/checkpoint/...). {PROXY_POWER}"
            ),
        );
    }
    if needs.uses_helper {
        helper_rules(&mut g, needs);
    }
    g
}

fn watch_rules(g: &mut Grants, watch: &Place) {
    g.grant(
        watch,
        "",
        "pods",
        &["get", "list", "watch"],
        "Watch the pods in scope for crashes; a crashed pod's manifest goes into the case.",
    );
    g.grant(
        watch,
        "",
        "pods",
        &["patch"],
        "Remove a trigger annotation (ktui.dev/capture, ktui.dev/checkpoint, ktui.dev/clone) once \
         its action is done: the one change ktui makes to an object it did not create, asked for \
         by whoever set it.",
    );
    g.grant(
        watch,
        "",
        "pods/log",
        &["get"],
        "The crashed container's previous log, hashed at capture.",
    );
    g.grant(
        watch,
        "",
        "events",
        &["list"],
        "The crashed pod's Events, kept in the case before they expire.",
    );
    for group in ["", "events.k8s.io"] {
        g.grant(
            watch,
            group,
            "events",
            &["create", "patch"],
            "Report each annotation action's result as an Event on the pod (patch: a repeated \
             Event is counted on the one already posted).",
        );
    }
    let owners = "Resolve a crashed pod's owner exactly (its Deployment through the ReplicaSet, \
                  its CronJob through the Job); without it the owner is guessed from names.";
    g.grant(watch, "apps", "replicasets", &["get"], owners);
    g.grant(watch, "batch", "jobs", &["get"], owners);
}

fn clone_rules(g: &mut Grants, watch: &Place, scope: &Scope) {
    let rollback = "deleted again if a later step fails (rollback)";
    g.grant(
        watch,
        "",
        "pods",
        &["create", "delete"],
        &format!(
            "--auto-clone (and ktui.dev/clone): create the forensic clone Pod, {rollback}; list: \
             dedup finds the clones already made of a crash signature."
        ),
    );
    g.grant(
        watch,
        "",
        "configmaps",
        &["create", "delete"],
        &format!("The clone's previous-log ConfigMap <clone>-logs, {rollback}."),
    );
    g.grant(
        watch,
        "networking.k8s.io",
        "networkpolicies",
        &["list", "create", "delete"],
        &format!(
            "The deny-all NetworkPolicy isolating the clone, created first and {rollback}; list: \
             the allow policies that would still reach the clone (a warning)."
        ),
    );
    g.grant(
        watch,
        "snapshot.storage.k8s.io",
        "volumesnapshots",
        &["create", "delete"],
        &format!("A VolumeSnapshot of each claim the crashed pod mounts, {rollback}."),
    );
    let selects = "Whatever still selects the clone (a Service, a controller, a \
                   PodDisruptionBudget) is named in a warning.";
    g.grant(watch, "", "services", &["list"], selects);
    for resource in ["deployments", "replicasets", "statefulsets", "daemonsets"] {
        g.grant(watch, "apps", resource, &["list"], selects);
    }
    g.grant(watch, "batch", "jobs", &["list"], selects);
    g.grant(watch, "policy", "poddisruptionbudgets", &["list"], selects);
    let cni = match scope {
        Scope::All => Place::Cluster,
        Scope::Namespace(_) => Place::Namespace("kube-system".to_string()),
    };
    g.grant(
        &cni,
        "apps",
        "daemonsets",
        &["list"],
        "Which CNI runs (its DaemonSets in kube-system): whether it enforces the clone's \
         NetworkPolicy.",
    );
    g.grant(
        &Place::Cluster,
        "snapshot.storage.k8s.io",
        "volumesnapshotclasses",
        &["list"],
        "The default VolumeSnapshotClass for the claims' snapshots.",
    );
}

fn helper_rules(g: &mut Grants, needs: &Needs<'_>) {
    let helper = Place::Namespace(needs.helper_namespace.to_string());
    g.grant(
        &helper,
        "",
        "pods/exec",
        &["get", "create"],
        &format!(
            "--sockets/--packets: reach a node's helper by exec-ing `ktui-helper serve` in its pod \
             (the exec stream is a WebSocket upgrade, a GET: authorized as get, and from \
             Kubernetes 1.30 as create too). {EXEC_POWER}"
        ),
    );
    g.grant(
        &helper,
        "",
        "pods",
        &["get", "list", "watch"],
        "Find the helper pod of a node and wait until it is ready.",
    );
    g.grant(
        &Place::Cluster,
        "",
        "nodes",
        &["get"],
        "A node's kernel, runtime and kubelet versions (node-<name>.json) and architecture (the \
         helper image must match it).",
    );
    if !needs.deploy_helper {
        return;
    }
    g.grant(
        &helper,
        "",
        "pods",
        &["create", "patch", "delete"],
        "--deploy-helper: deploy a node's helper pod (server-side apply: create and patch), \
         replace an outdated or finished one.",
    );
    g.grant(
        &helper,
        "",
        "serviceaccounts",
        &["create", "patch"],
        "The helper pods' ServiceAccount (server-side applied; it has no permissions).",
    );
    g.grant(
        &helper,
        "",
        "events",
        &["list"],
        "Why a helper pod does not start (its Events).",
    );
    g.grant_named(
        &Place::Cluster,
        "",
        "namespaces",
        &[needs.helper_namespace],
        &["get"],
        "The helper namespace's Pod Security level, checked before deploying.",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(scope: &Scope) -> Needs<'_> {
        Needs {
            watch: scope,
            controller_namespace: "ktui-system",
            helper_namespace: "ktui-system",
            auto_clone: false,
            checkpoint: false,
            uses_helper: false,
            deploy_helper: false,
        }
    }

    #[test]
    fn rules_merge_per_place_and_resource() {
        let shop = Scope::Namespace("shop".into());
        let g = grants(&Needs {
            auto_clone: true,
            ..needs(&shop)
        });
        let pods: Vec<&Rule> = g
            .rules(&Place::Namespace("shop".into()))
            .iter()
            .filter(|r| r.resource == "pods")
            .collect();
        assert_eq!(pods.len(), 1, "{pods:?}");
        assert_eq!(
            pods[0].verbs,
            ["get", "list", "watch", "create", "patch", "delete"]
        );
        assert_eq!(pods[0].why.len(), 3);
        let kube_system = g.rules(&Place::Namespace("kube-system".into()));
        assert_eq!(kube_system.len(), 1);
        assert_eq!(kube_system[0].resource, "daemonsets");
        assert!(
            g.rules(&Place::Cluster)
                .iter()
                .all(|r| r.resource == "volumesnapshotclasses")
        );
    }

    #[test]
    fn the_powerful_resources_come_only_with_their_flags() {
        let all = Scope::All;
        let plain = grants(&needs(&all));
        assert!(POWERFUL.iter().all(|r| !plain.grants(r)));
        let helper = grants(&Needs {
            uses_helper: true,
            ..needs(&all)
        });
        assert!(helper.grants("pods/exec") && !helper.grants("nodes/proxy"));
        let exec = helper
            .rules(&Place::Namespace("ktui-system".into()))
            .iter()
            .find(|r| r.resource == "pods/exec")
            .unwrap();
        assert!(exec.why[0].contains("close to cluster-admin"));
        let checkpoint = grants(&Needs {
            checkpoint: true,
            ..needs(&all)
        });
        assert!(checkpoint.grants("nodes/proxy") && !checkpoint.grants("pods/exec"));
    }

    #[test]
    fn deploying_the_helper_reads_only_its_namespace() {
        let shop = Scope::Namespace("shop".into());
        let g = grants(&Needs {
            uses_helper: true,
            deploy_helper: true,
            ..needs(&shop)
        });
        let ns = g
            .rules(&Place::Cluster)
            .iter()
            .find(|r| r.resource == "namespaces")
            .unwrap();
        assert_eq!(ns.names, ["ktui-system"]);
        assert_eq!(ns.verbs, ["get"]);
        let helper = g.rules(&Place::Namespace("ktui-system".into()));
        let pods = helper.iter().find(|r| r.resource == "pods").unwrap();
        assert_eq!(
            pods.verbs,
            ["get", "list", "watch", "create", "patch", "delete"]
        );
        // The watch namespace gets no helper rule.
        assert!(
            !g.rules(&Place::Namespace("shop".into()))
                .iter()
                .any(|r| r.resource == "pods/exec" || r.resource == "serviceaccounts")
        );
    }
}
