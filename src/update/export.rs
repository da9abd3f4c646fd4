//! The export dialog: what will be collected and where it goes; Enter starts the export in the
//! background (collect the pod into the case, package, sign, upload), Esc hides the dialog (a
//! running export goes on and ends with a toast).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::state::export::{ExportDialog, ExportPhase, ExportSummary, Field};
use crate::state::{AppState, Mode, ToastLevel};

pub fn open(state: &mut AppState, pod: PodKey) -> Vec<Effect> {
    let Some((case_id, dir)) = state.evidence.case.clone() else {
        state.toast(
            ToastLevel::Error,
            "no case is open: nothing can be exported",
        );
        return Vec::new();
    };
    match state.export.as_mut() {
        // One export at a time: its dialog comes back.
        Some(d) if d.running() => {
            d.shown = true;
            if d.pod != pod {
                let text = format!("the export of {} is still running", d.pod);
                state.toast(ToastLevel::Info, text);
            }
        }
        _ => {
            let out = dir.join(crate::case::BUNDLES_DIR).display().to_string();
            state.export = Some(ExportDialog::new(pod, &case_id, &out));
        }
    }
    state.mode = Mode::Export;
    Vec::new()
}

pub fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(dialog) = state.export.as_mut() else {
        return Vec::new();
    };
    let editing = dialog.phase == ExportPhase::Editing;
    match key.code {
        KeyCode::Esc => {
            dialog.shown = false;
            if !dialog.running() {
                state.export = None;
            }
            return Vec::new();
        }
        KeyCode::Enter if editing => return start(state),
        // Done or failed: Enter closes, as Esc.
        KeyCode::Enter if !dialog.running() => {
            state.export = None;
            return Vec::new();
        }
        KeyCode::Tab | KeyCode::Down if editing => dialog.next_field(false),
        KeyCode::BackTab | KeyCode::Up if editing => dialog.next_field(true),
        _ if editing && !key.modifiers.contains(KeyModifiers::CONTROL) => {
            dialog.field_mut().input(key);
        }
        _ => {}
    }
    state.mode = Mode::Export;
    Vec::new()
}

fn start(state: &mut AppState) -> Vec<Effect> {
    let Some(dialog) = state.export.as_mut() else {
        return Vec::new();
    };
    let case_id = dialog.value(Field::Case);
    let out = dialog.value(Field::Out);
    let s3 = dialog.value(Field::S3);
    let problem = if case_id.is_empty() {
        Some("name the case the evidence goes into".to_string())
    } else if !s3.is_empty() && !s3.starts_with("s3://") {
        Some(format!(
            "the S3 URI must look like s3://bucket/prefix, not {s3:?}"
        ))
    } else {
        None
    };
    state.mode = Mode::Export;
    if let Some(problem) = problem {
        state.toast(ToastLevel::Error, problem);
        return Vec::new();
    }
    dialog.phase = ExportPhase::Running {
        step: "starting".to_string(),
        done: 0,
        total: 0,
    };
    vec![Effect::ExportPod {
        pod: dialog.pod.clone(),
        case_id,
        out: (!out.is_empty()).then(|| out.into()),
        s3: (!s3.is_empty()).then_some(s3),
    }]
}

pub fn on_progress(state: &mut AppState, step: String, done: u64, total: u64) {
    if let Some(d) = state.export.as_mut().filter(|d| d.running()) {
        d.phase = ExportPhase::Running { step, done, total };
    }
}

pub fn on_done(state: &mut AppState, result: Result<ExportSummary, String>) {
    let Some(pod) = state.export.as_ref().map(|d| d.pod.clone()) else {
        return;
    };
    match &result {
        Ok(s) => {
            let mut text = format!(
                "exported {} to {} (sha256 {}, key {})",
                pod,
                s.bundle.display(),
                s.sha256,
                s.key_id
            );
            if let Some(uri) = &s.uploaded {
                text.push_str(&format!(", uploaded to {uri}"));
            }
            state.toast(ToastLevel::Info, text);
        }
        Err(e) => state.toast(ToastLevel::Error, format!("export of {pod} failed: {e}")),
    }
    let Some(dialog) = state.export.as_mut() else {
        return;
    };
    dialog.phase = match result {
        Ok(s) => ExportPhase::Done(s),
        Err(e) => ExportPhase::Failed(e),
    };
    if !dialog.shown {
        state.export = None;
    }
}
