//! `ktui checkpoint create --snapshot` and `--fetch`: bring a live snapshot, or the kubelet's
//! archive, from the node into the case through the node helper (SHA-256 computed on the node
//! and checked here), print where it is, and — for a fetched archive — offer to delete the
//! node's copy.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use super::create::{CreateArgs, say};
use super::node_helper::{HelperNeed, NodeHelper, helper_for};
use super::take::Plan;
use crate::case::Case;
use crate::cluster::{Cluster, ContainerState, PodKey};
use crate::fetch::FetchOptions;
use crate::fetch::evidence::{
    CaseFetched, Evidence, EvidenceError, fetch_checkpoint, fetch_snapshot, remove_from_node,
    snapshot_name,
};
use crate::helper::manifest::{CONTAINER, HelperVariant};
use crate::helper::snapshot::SnapshotRequest;
use crate::progress::StderrProgress;
use crate::triage_cmd::EXIT_NO_CLUSTER;

/// What the container's status says, for `snapshot.json` (never invented: unknown is absent).
pub fn snapshot_request(plan: &Plan) -> Result<SnapshotRequest, String> {
    let c = &plan.container;
    let id = c.container_id.as_deref().unwrap_or("");
    let mut req = SnapshotRequest::from_status_id(id).ok_or_else(|| {
        format!(
            "container {} of pod {} has no runtime id in its status ({id:?}): it has not started, \
             so there is no process to snapshot",
            c.name, plan.pod
        )
    })?;
    req.pod = Some(plan.pod.name.clone());
    req.namespace = Some(plan.pod.namespace.clone());
    req.pod_uid = Some(plan.pod_uid.clone()).filter(|u| !u.is_empty());
    req.container = Some(c.name.clone());
    req.image = Some(c.image.clone()).filter(|i| !i.is_empty());
    req.image_ref = c.image_id.clone();
    if let ContainerState::Running {
        started_at: Some(at),
    } = &c.state
    {
        req.created = Some(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    Ok(req)
}

/// Take the live snapshot into the case; Err: said already, the exit code.
pub async fn snapshot(
    cluster: &dyn Cluster,
    case: &Case,
    plan: &Plan,
    args: &CreateArgs,
) -> Result<(), u8> {
    let req = snapshot_request(plan).map_err(|e| said(&e))?;
    let helper = need_helper(
        cluster,
        case,
        plan,
        args,
        HelperVariant::Snapshot,
        "a live snapshot",
    )
    .await?
    .pod;
    say(&format!(
        "taking a live snapshot of container {} of pod {} on node {} through {helper}: processes \
         are not frozen (the read is not atomic), it is not a CRIU image and cannot be restored, \
         and it holds process memory and environment (secrets)",
        plan.container.name, plan.pod, plan.node
    ));
    let ev = evidence(case, plan, &helper);
    let name = snapshot_name(&plan.pod, &plan.container.name, jiff::Timestamp::now());
    let mut bar = StderrProgress::new("live snapshot");
    let mut progress = |done, total| bar.report(done, total);
    let got = fetch_snapshot(
        cluster,
        &ev,
        req.argv(),
        &name,
        &FetchOptions::default(),
        &mut progress,
    )
    .await
    .map_err(|e| failed(&format!("the live snapshot failed: {e}"), &e))?;
    print_fetched(case, &got);
    Ok(())
}

/// Fetch the kubelet's archive at `node_path` into the case, then offer to delete the node's
/// copy; Err: said already, the exit code.
pub async fn fetch(
    cluster: &dyn Cluster,
    case: &Case,
    plan: &Plan,
    node_path: &str,
    args: &CreateArgs,
) -> Result<(), u8> {
    // Reading the checkpoint directory is in the default helper; deleting from it needs the
    // snapshot variant's writable mount.
    let variant = if args.remove_from_node {
        HelperVariant::Snapshot
    } else {
        HelperVariant::Sockets
    };
    let found = need_helper(cluster, case, plan, args, variant, "fetching the archive").await?;
    let helper = found.pod;
    let ev = evidence(case, plan, &helper);
    let mut bar = StderrProgress::new(format!("fetching {node_path}"));
    let mut progress = |done, total| bar.report(done, total);
    let got = fetch_checkpoint(
        cluster,
        &ev,
        node_path,
        &FetchOptions::default(),
        &mut progress,
    )
    .await
    .map_err(|e| {
        failed(
            &format!("fetching {node_path} from node {} failed: {e}", plan.node),
            &e,
        )
    })?;
    print_fetched(case, &got);
    // Deleting is offered only where it can work: the helper's checkpoint directory is
    // writable in the snapshot variant alone.
    let remove = args.remove_from_node || (found.can_remove && ask_remove(node_path, &plan.node));
    if !remove {
        say(&format!(
            "the archive is still on node {} at {node_path}: it holds process memory and \
             secrets — remove it when it is no longer needed (on the node, or with the \
             snapshot helper: ktui checkpoint create --fetch --remove-from-node --deploy-helper)",
            plan.node
        ));
        return Ok(());
    }
    match remove_from_node(cluster, &ev, node_path, &got.entry).await {
        Ok(_) => {
            say(&format!("removed {node_path} from node {}", plan.node));
            Ok(())
        }
        Err(e) => Err(said(&e.to_string())),
    }
}

async fn need_helper(
    cluster: &dyn Cluster,
    case: &Case,
    plan: &Plan,
    args: &CreateArgs,
    variant: HelperVariant,
    purpose: &str,
) -> Result<NodeHelper, u8> {
    let need = HelperNeed {
        node: &plan.node,
        variant,
        deploy: args.deploy_helper,
        image: args.helper_image.as_deref(),
        purpose,
    };
    let mut progress = |line: String| say(&line);
    helper_for(cluster, case, &need, &mut progress)
        .await
        .map_err(|e| {
            say(&e.message);
            if e.unreachable { EXIT_NO_CLUSTER } else { 1 }
        })
}

fn evidence<'a>(case: &'a Case, plan: &'a Plan, helper: &'a PodKey) -> Evidence<'a> {
    Evidence {
        case,
        pod: &plan.pod,
        container: &plan.container.name,
        node: &plan.node,
        helper_pod: helper,
        helper_container: CONTAINER,
    }
}

/// The local path and hash on stdout (one line each), the rest on stderr.
fn print_fetched(case: &Case, got: &CaseFetched) {
    let path = case.dir().join(&got.entry.path);
    println!("{}", crate::sanitize::line(&path.display().to_string()));
    println!("sha256 {}", got.fetched.sha256);
    say(&format!(
        "{} bytes verified (SHA-256 on the node and here agree) in case {}{}",
        got.fetched.bytes,
        case.id(),
        if got.fetched.resumes > 0 {
            format!(", resumed {} times", got.fetched.resumes)
        } else {
            String::new()
        }
    ));
}

/// On a terminal: "remove it from the node? [y/N]"; elsewhere: no.
fn ask_remove(node_path: &str, node: &str) -> bool {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return false;
    }
    eprint!(
        "ktui checkpoint: the verified copy is in the case; delete {} from node {}? [y/N] ",
        crate::sanitize::line(node_path),
        crate::sanitize::line(node)
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "YES")
}

/// Say `text` (stderr); the exit code: 3 when the API server could not be reached, else 1.
fn failed(text: &str, e: &EvidenceError) -> u8 {
    say(text);
    match e {
        EvidenceError::Fetch(f) if f.unreachable() => EXIT_NO_CLUSTER,
        _ => 1,
    }
}

/// Say `text` (stderr); exit code 1.
fn said(text: &str) -> u8 {
    say(text);
    1
}
