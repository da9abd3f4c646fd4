//! The export dialog: what a pod's bundle will hold, where it goes (case, directory, optional S3
//! URI), then the export's progress and its result (bundle, SHA-256, signing key).

use std::path::PathBuf;

use ratatui_textarea::TextArea;

use crate::cluster::PodKey;

/// The dialog's input fields, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Case,
    Out,
    S3,
}

impl Field {
    pub const ALL: [Field; 3] = [Field::Case, Field::Out, Field::S3];

    pub fn label(self) -> &'static str {
        match self {
            Field::Case => "case id",
            Field::Out => "directory",
            Field::S3 => "S3 URI (optional)",
        }
    }
}

/// What a finished export produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub bundle: PathBuf,
    pub sha256: String,
    pub key_id: String,
    /// Said once, when the export created the signing key.
    pub key_notice: Option<String>,
    /// Where the upload put the archive (`s3://bucket/key`), when one was asked for.
    pub uploaded: Option<String>,
    /// What was asked for and not collected, with why.
    pub unavailable: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportPhase {
    Editing,
    /// Running in the background: the step, and bytes done of total (0 total: not known yet).
    Running {
        step: String,
        done: u64,
        total: u64,
    },
    Done(ExportSummary),
    Failed(String),
}

#[derive(Debug)]
pub struct ExportDialog {
    pub pod: PodKey,
    pub fields: [TextArea<'static>; 3],
    pub focus: Field,
    pub phase: ExportPhase,
    /// Shown (Esc hides a running export's dialog; the export goes on).
    pub shown: bool,
}

impl ExportDialog {
    pub fn new(pod: PodKey, case_id: &str, out: &str) -> Self {
        let field = |text: &str| {
            let mut area = TextArea::new(vec![text.to_string()]);
            area.move_cursor(ratatui_textarea::CursorMove::End);
            area
        };
        Self {
            pod,
            fields: [field(case_id), field(out), field("")],
            focus: Field::Case,
            phase: ExportPhase::Editing,
            shown: true,
        }
    }

    pub fn value(&self, field: Field) -> String {
        self.fields[field as usize]
            .lines()
            .join("")
            .trim()
            .to_string()
    }

    pub fn field_mut(&mut self) -> &mut TextArea<'static> {
        &mut self.fields[self.focus as usize]
    }

    pub fn next_field(&mut self, back: bool) {
        let i = self.focus as usize;
        let n = Field::ALL.len();
        self.focus = Field::ALL[if back { (i + n - 1) % n } else { (i + 1) % n }];
    }

    pub fn running(&self) -> bool {
        matches!(self.phase, ExportPhase::Running { .. })
    }
}
