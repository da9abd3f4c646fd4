//! [`super::prepare`]: the source pod and its crash, dedup against the clones already in the
//! cluster, the previous log, snapshots, copied ConfigMaps, then the plan and the warnings.

mod checks;
mod copies;
mod dedup;
mod source;

use jiff::Timestamp;

use super::{CloneError, Prepared, Request};
use crate::case::Case;
use crate::clone::{Stamp, spec, toolkit};
use crate::cluster::{Cluster, ObjectRef};

pub(super) async fn run(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    req: &Request,
) -> Result<Prepared, CloneError> {
    let key = &req.pod;
    let pod = cluster
        .get_json(ObjectRef::pod(key))
        .await
        .map_err(|cause| CloneError::read(format!("pod {key}"), cause))?;
    let crash = source::crash(cluster, key, req.container.as_deref()).await?;
    let stamp = stamp(cluster).await;
    let namespace = req
        .options
        .forensic_namespace
        .clone()
        .unwrap_or_else(|| key.namespace.clone());
    let name = spec::clone_name(&key.name, &crash.signature);
    let existing = dedup::find(
        cluster,
        &namespace,
        &name,
        &crash.signature,
        stamp.created_at,
        req.options.dedup_window,
    )
    .await?;
    let mut warnings = Vec::new();
    // A crash that already has its clone needs no log fetched, nor any check: it is offered.
    let log = if existing.is_some() {
        None
    } else {
        source::previous_log(cluster, case, key, &crash, &mut warnings).await?
    };
    let source = crate::clone::CloneSource {
        pod,
        signature: crash.signature.clone(),
        container: crash.container.clone(),
        log,
    };
    let (snapshot_api, choice) = if existing.is_some() {
        (false, None)
    } else {
        checks::snapshots(cluster, &source.pod, &req.options, &mut warnings).await?
    };
    let mut plan =
        spec::build(&source, &req.options, &stamp, choice.as_ref()).map_err(|cause| {
            CloneError::Spec {
                pod: key.clone(),
                cause,
            }
        })?;
    let mut cni = None;
    if existing.is_none() {
        plan.copied_config_maps = copies::config_maps(cluster, key, &plan, &mut warnings).await?;
        warnings.extend(checks::selectors(cluster, &plan).await?);
        cni = checks::cni(cluster, &plan, &mut warnings).await?;
        warnings.extend(toolkit::image_warning(&req.options.toolkit_image));
    }
    Ok(Prepared {
        source,
        plan,
        existing,
        warnings,
        cni,
        snapshot_api,
        request: req.clone(),
    })
}

/// Who creates the clone (SelfSubjectReview, else the kubeconfig's user) and when (the API
/// server's clock, else this machine's).
async fn stamp(cluster: &dyn Cluster) -> Stamp {
    let created_by = match cluster.self_user().await {
        Ok(Some(user)) => Some(user),
        Ok(None) | Err(_) => cluster.info().kube_user,
    };
    let created_at = match cluster.server_date().await {
        Ok(Some(date)) => date,
        Ok(None) | Err(_) => Timestamp::now(),
    };
    Stamp {
        created_by,
        created_at,
    }
}
