//! The node helper a command needs for a live snapshot or a fetch: the one running on the
//! node when it is ready and has the variant's capabilities, else — only with
//! `--deploy-helper` — one deployed (or replaced) now, its creation in the case's custody.

use std::time::Duration;

use crate::case::Case;
use crate::cluster::{Cluster, PodKey, Scope};
use crate::helper::lifecycle::{self, DEFAULT_READY_TIMEOUT, Readiness};
use crate::helper::manifest::{self, HelperSpec, HelperVariant};

/// What to look for and whether deploying is allowed.
#[derive(Debug, Clone)]
pub struct HelperNeed<'a> {
    pub node: &'a str,
    pub variant: HelperVariant,
    /// `--deploy-helper`: deploy or replace without asking (the flag is the consent).
    pub deploy: bool,
    /// `--helper-image`, else the default image.
    pub image: Option<&'a str>,
    /// For what (`a live snapshot`, `fetching the archive`), in messages.
    pub purpose: &'a str,
}

/// Why no helper can be used (what to run instead), and whether the API server was gone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NoHelper {
    pub message: String,
    pub unreachable: bool,
}

impl From<String> for NoHelper {
    fn from(message: String) -> Self {
        NoHelper {
            message,
            unreachable: false,
        }
    }
}

/// The helper found (or deployed) on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHelper {
    pub pod: PodKey,
    /// It has the snapshot variant's writable checkpoint directory: it can delete a fetched
    /// archive from the node.
    pub can_remove: bool,
}

/// The helper pod to exec in, or why there is none (what to run instead).
pub async fn helper_for(
    cluster: &dyn Cluster,
    case: &Case,
    need: &HelperNeed<'_>,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<NodeHelper, NoHelper> {
    let spec = HelperSpec {
        image: need
            .image
            .map_or_else(manifest::default_image, str::to_string),
        variant: need.variant,
        ..HelperSpec::new(Some(need.node))
    };
    if need.deploy {
        let pod = deploy(cluster, case, &spec, need, say)
            .await
            .map_err(NoHelper::from)?;
        return Ok(NodeHelper {
            pod,
            can_remove: need.variant == HelperVariant::Snapshot,
        });
    }
    let scope = Scope::Namespace(spec.namespace.clone());
    let pods = cluster
        .list_helper_pods(scope)
        .await
        .map_err(|e| NoHelper {
            unreachable: matches!(e, crate::cluster::ClusterError::Unreachable { .. }),
            message: format!("cannot look for the helper on node {}: {e}", need.node),
        })?;
    let rerun = format!(
        "rerun with --deploy-helper to deploy it ({}), or take it from the console",
        need.variant.additions_line()
    );
    let Some(pod) = pods
        .iter()
        .find(|p| !p.deleting && lifecycle::on_node(p, need.node))
    else {
        return Err(NoHelper::from(format!(
            "no ktui helper runs on node {} for {}: {rerun}",
            need.node, need.purpose
        )));
    };
    let running = HelperVariant::running_capabilities(&pod.labels, &pod.annotations);
    let missing = need.variant.missing_from(&running);
    let can_remove = HelperVariant::Snapshot.missing_from(&running).is_empty();
    if !missing.is_empty() {
        return Err(NoHelper::from(format!(
            "the helper {} on node {} lacks {} for {}: {rerun} (it replaces the running helper)",
            pod.summary.key,
            need.node,
            missing.join(", "),
            need.purpose
        )));
    }
    let image = pod
        .summary
        .container(manifest::CONTAINER)
        .map(|c| c.image.clone())
        .unwrap_or_default();
    match lifecycle::readiness(&pod.summary, &image) {
        Readiness::Ready => Ok(NodeHelper {
            pod: pod.summary.key.clone(),
            can_remove,
        }),
        Readiness::Starting(how) => Err(NoHelper::from(format!(
            "the helper {} on node {} is not ready yet ({how}): try again in a moment",
            pod.summary.key, need.node
        ))),
        Readiness::Failed(why) => Err(NoHelper::from(format!(
            "the helper on node {} cannot be used: {why}; {rerun}",
            need.node
        ))),
    }
}

async fn deploy(
    cluster: &dyn Cluster,
    case: &Case,
    spec: &HelperSpec,
    need: &HelperNeed<'_>,
    say: &mut (dyn FnMut(String) + Send),
) -> Result<PodKey, String> {
    say(format!(
        "deploying the {} helper on node {} ({}; it is {})",
        need.variant.name(),
        need.node,
        need.variant.additions_line(),
        manifest::POWER
    ));
    let deployed = lifecycle::deploy(cluster, spec, ready_timeout(), say)
        .await
        .map_err(|e| format!("cannot deploy the helper on node {}: {e}", need.node))?;
    let entries = crate::runtime::keep::created_entries(&deployed.created);
    if let Err(e) = crate::runtime::keep::record(Some(case.clone()), entries).await {
        say(format!(
            "the custody line of the helper on {} could not be written: {e}",
            need.node
        ));
    }
    Ok(deployed.pod)
}

/// How long a deployed helper may take to be ready (`KTUI_HELPER_READY_TIMEOUT` seconds for
/// slow image pulls).
fn ready_timeout() -> Duration {
    std::env::var("KTUI_HELPER_READY_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_READY_TIMEOUT, Duration::from_secs)
}
