//! [`super::create`]: the manifests into the case, then each object of the plan in order
//! (NetworkPolicy, ConfigMaps, VolumeSnapshots, Pod last: the pod never exists without its
//! isolation), each with its custody line; the first failure deletes what was created, newest
//! first, and the error says what was removed and what could not be.

use jiff::Timestamp;

use super::error::{CreateFailed, Failure, Rollback};
use super::record::{self, Outcome};
use super::{CloneError, Created, Prepared};
use crate::case::Case;
use crate::cluster::{Cluster, ObjectRef};

pub(super) async fn run(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    prepared: &Prepared,
) -> Result<Created, CloneError> {
    if let Some(existing) = &prepared.existing {
        return Err(CloneError::Duplicate(existing.clone()));
    }
    let started = Timestamp::now();
    let plan = &prepared.plan;
    let mut objects = Vec::new();
    for object in plan.objects() {
        let r = ObjectRef::of(object)
            .map_err(|cause| CloneError::read("the clone's plan".to_string(), cause))?;
        objects.push((r, object.clone()));
    }
    let mut recorded = record::manifests(case, prepared).await?;
    let mut created: Vec<ObjectRef> = Vec::new();
    for (r, object) in objects {
        let failure = match cluster.create(object).await {
            Ok(true) => {
                created.push(r.clone());
                match record::custody(case, vec![record::created(&r, Ok(()))]).await {
                    Ok(()) if r.kind != "Pod" => continue,
                    // The pod as admission left it: exactly what was planned, or rolled back.
                    Ok(()) => match super::admitted::check(cluster, &r, &plan.pod).await {
                        Ok(()) => continue,
                        Err(what) => Failure::Altered(what),
                    },
                    Err(e) => Failure::Custody(e),
                }
            }
            Ok(false) => Failure::Exists,
            Err(e) => Failure::Cluster(e),
        };
        // A pod admission altered was created, and its custody line written.
        if !matches!(failure, Failure::Custody(_) | Failure::Altered(_)) {
            let why = match &failure {
                Failure::Cluster(e) => e.to_string(),
                _ => "already exists (409)".to_string(),
            };
            // Best effort: the error below says it all if the case refuses this too.
            let _ = record::custody(case, vec![record::created(&r, Err(why))]).await;
        }
        let rollback = rollback(cluster, case, &created).await;
        let error = CloneError::Create(Box::new(CreateFailed {
            object: r,
            failure,
            rollback,
        }));
        let outcome = Outcome {
            created: &created,
            started,
            error: Some(&error),
        };
        if let Err(e) = record::clone_record(case, prepared, &outcome).await {
            tracing::warn!(error = %e, "the failed clone's record could not be written");
        }
        return Err(error);
    }
    let outcome = Outcome {
        created: &created,
        started,
        error: None,
    };
    match record::clone_record(case, prepared, &outcome).await {
        Ok(entry) => recorded.extend(entry),
        Err(cause) => {
            return Err(CloneError::NotRecorded {
                name: plan.name.clone(),
                namespace: plan.namespace.clone(),
                created,
                case: case.map(|c| c.id().to_string()).unwrap_or_default(),
                cause,
            });
        }
    }
    Ok(Created {
        name: plan.name.clone(),
        namespace: plan.namespace.clone(),
        created,
        recorded,
    })
}

/// Delete `created`, newest first, each with its custody line. A deleted pod is waited for
/// (it keeps running while it terminates): what isolates it stays until it is gone.
async fn rollback(cluster: &dyn Cluster, case: Option<&Case>, created: &[ObjectRef]) -> Rollback {
    let mut done = Rollback::default();
    let mut pending = created.iter().rev();
    while let Some(r) = pending.next() {
        let outcome = match cluster.delete(r.clone()).await {
            Ok(_) => {
                done.deleted.push(r.clone());
                Ok(())
            }
            Err(e) => {
                done.left.push((r.clone(), e.to_string()));
                Err(e.to_string())
            }
        };
        let pod_failed = outcome.is_err() && r.kind == "Pod";
        let pod_deleted = outcome.is_ok() && r.kind == "Pod";
        if let Err(e) = record::custody(case, vec![record::deleted(r, outcome)]).await {
            tracing::warn!(error = %e, object = %r, "a rollback's custody line could not be written");
        }
        if pod_failed {
            // The clone may still run: what isolates it stays.
            let why = format!(
                "kept because pod {} could not be deleted: it stays isolated",
                r.name
            );
            done.left
                .extend(pending.map(|rest| (rest.clone(), why.clone())));
            break;
        }
        if pod_deleted && !super::wait_gone(cluster, r, super::remove::TERMINATION).await {
            let why = format!("kept while pod {} terminates, so it stays isolated", r.name);
            done.left
                .extend(pending.map(|rest| (rest.clone(), why.clone())));
            break;
        }
    }
    done
}
