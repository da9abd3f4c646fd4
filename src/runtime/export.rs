//! The console's export of a pod (the export dialog's Enter): collect it into the case, package
//! and sign its bundle, then (later) upload; progress and the result come back as actions.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::action::Action;
use crate::case::Case;
use crate::cluster::{Cluster, PodKey};
use crate::collect::{CollectOptions, collect_pod};
use crate::evidence::{EvidenceItem, EvidenceKind};
use crate::state::export::ExportSummary;

/// What one export needs.
pub struct ExportJob {
    pub pod: PodKey,
    pub case_id: String,
    pub out: Option<PathBuf>,
    pub s3: Option<String>,
    /// The signing key (None: `KTUI_SIGNING_KEY`, else the config dir's).
    pub sign_key: Option<PathBuf>,
}

/// Run `job`; every step is said on `tx`, the end is `Action::Exported`.
pub async fn run(
    cluster: Arc<dyn Cluster>,
    held: Option<Case>,
    job: ExportJob,
    tx: UnboundedSender<Action>,
) {
    let result = export(cluster, held, job, &tx).await;
    let _ = tx.send(Action::Exported(result));
}

fn step(tx: &UnboundedSender<Action>, text: String) {
    let _ = tx.send(Action::ExportProgress {
        step: text,
        done: 0,
        total: 0,
    });
}

async fn export(
    cluster: Arc<dyn Cluster>,
    held: Option<Case>,
    job: ExportJob,
    tx: &UnboundedSender<Action>,
) -> Result<ExportSummary, String> {
    // The console's own case, or another one named in the dialog (opened, and locked, for this
    // export only).
    let case = match held {
        Some(case) if case.id() == job.case_id => case,
        held => {
            let cases = held
                .as_ref()
                .and_then(|c| c.dir().parent().map(PathBuf::from))
                .unwrap_or_else(|| crate::case::cases_dir(None));
            let config = crate::collect::case_config(cluster.as_ref(), false).await;
            let id = job.case_id.clone();
            tokio::task::spawn_blocking(move || Case::open(&cases, Some(&id), &config))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        }
    };
    let progress_tx = tx.clone();
    let progress = move |text: &str| step(&progress_tx, format!("collecting: {text}"));
    let collected = collect_pod(
        cluster.as_ref(),
        &case,
        &job.pod,
        CollectOptions::default(),
        &progress,
    )
    .await
    .map_err(|e| e.to_string())?;
    for entry in &collected.written {
        let _ = tx.send(Action::EvidenceCaptured(EvidenceItem::written(
            EvidenceKind::Collected,
            entry,
        )));
    }
    step(tx, "packaging and signing".to_string());
    let (out, sign_key) = (job.out.clone(), job.sign_key.clone());
    let held = case.clone();
    let bar_tx = tx.clone();
    let packaged = tokio::task::spawn_blocking(move || {
        crate::bundle::export::export_pod(
            &case,
            &collected,
            out.as_deref(),
            sign_key.as_deref(),
            jiff::Timestamp::now(),
            &mut |done, total| {
                let _ = bar_tx.send(Action::ExportProgress {
                    step: "packaging and signing".to_string(),
                    done,
                    total,
                });
            },
        )
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let uploaded = match &job.s3 {
        None => None,
        Some(uri) => Some(upload(&held, &job.pod, &packaged.bundle, uri, tx).await?),
    };
    Ok(ExportSummary {
        bundle: packaged.bundle,
        sha256: packaged.sha256,
        key_id: packaged.key_id,
        key_notice: packaged.key_notice,
        uploaded,
        unavailable: packaged.unavailable,
    })
}

/// The S3 upload of the dialog's URI (the endpoint of an S3-compatible store from
/// `KTUI_S3_ENDPOINT`); Err says what failed, that the bundle is kept, and the retry command.
async fn upload(
    case: &Case,
    pod: &PodKey,
    bundle: &std::path::Path,
    uri: &str,
    tx: &UnboundedSender<Action>,
) -> Result<String, String> {
    use crate::bundle::{s3::KeyOf, upload};
    let req = upload::S3Request {
        uri: uri.to_string(),
        endpoint: std::env::var(S3_ENDPOINT_ENV)
            .ok()
            .filter(|e| !e.is_empty()),
        verify: false,
        object_lock_days: None,
    };
    let of = KeyOf::Pod {
        namespace: &pod.namespace,
        pod: &pod.name,
    };
    let target = crate::case::Target::pod(&pod.namespace, &pod.name, None);
    let bar_tx = tx.clone();
    let done = upload::upload_bundle(Some(case), target, bundle, &req, of, &mut |sent, total| {
        let _ = bar_tx.send(Action::ExportProgress {
            step: format!("uploading to {uri}"),
            done: sent,
            total,
        });
    })
    .await?;
    Ok(done.archive_uri)
}

/// The S3-compatible store the console's export dialog uploads to (else AWS's for the region).
pub const S3_ENDPOINT_ENV: &str = "KTUI_S3_ENDPOINT";
