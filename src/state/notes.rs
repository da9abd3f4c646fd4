//! The notes pane: the case's `notes.md`, typed in a text area and saved into the case (each
//! save a custody line with the file's SHA-256) at most 2 s after the last keystroke, and at exit.

use jiff::{SignedDuration, Timestamp};
use ratatui_textarea::TextArea;

/// Quiet time after a keystroke before the notes are saved.
pub const SAVE_AFTER_IDLE: SignedDuration = SignedDuration::from_secs(1);
/// Longest an edit stays unsaved while typing goes on.
pub const SAVE_AT_MOST_AFTER: SignedDuration = SignedDuration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotesStatus {
    /// As on disk.
    Saved {
        at: Option<Timestamp>,
        sha256: Option<String>,
    },
    /// Edited since the last save.
    Unsaved,
    Failed(String),
}

#[derive(Debug)]
pub struct NotesState {
    pub area: TextArea<'static>,
    /// Counts edits; a save names the edit it saved, so a save of older text leaves it unsaved.
    pub generation: u64,
    pub saved_generation: u64,
    /// A save is in flight (of this generation).
    pub saving: Option<u64>,
    pub first_unsaved: Option<Timestamp>,
    pub last_edit: Option<Timestamp>,
    pub status: NotesStatus,
}

impl Default for NotesState {
    fn default() -> Self {
        Self::new("")
    }
}

impl NotesState {
    /// The notes as the case holds them.
    pub fn new(text: &str) -> Self {
        // The file may have been edited outside ktui: no control sequence reaches the terminal.
        let lines: Vec<String> = text
            .lines()
            .map(|l| crate::sanitize::line(l).into_owned())
            .collect();
        let mut area = TextArea::new(if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        });
        area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        Self {
            area,
            generation: 0,
            saved_generation: 0,
            saving: None,
            first_unsaved: None,
            last_edit: None,
            status: NotesStatus::Saved {
                at: None,
                sha256: None,
            },
        }
    }

    /// The text as `notes.md` holds it (a newline at the end).
    pub fn text(&self) -> String {
        let mut text = self.area.lines().join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        text
    }

    pub fn dirty(&self) -> bool {
        self.generation != self.saved_generation
    }

    /// A key was typed and changed the text.
    pub fn edited(&mut self, now: Timestamp) {
        self.generation += 1;
        self.last_edit = Some(now);
        self.first_unsaved.get_or_insert(now);
        self.status = NotesStatus::Unsaved;
    }

    /// Whether to save now: edited, no save in flight, and quiet for [`SAVE_AFTER_IDLE`] or
    /// unsaved for [`SAVE_AT_MOST_AFTER`] (with a 1 s clock: saved ≤ 2 s after the last key).
    pub fn due(&self, now: Timestamp) -> bool {
        let since =
            |t: Option<Timestamp>, d: SignedDuration| t.is_some_and(|t| now.duration_since(t) >= d);
        self.dirty()
            && self.saving.is_none()
            && (since(self.last_edit, SAVE_AFTER_IDLE)
                || since(self.first_unsaved, SAVE_AT_MOST_AFTER))
    }

    /// A save of the current text starts: its generation.
    pub fn start_save(&mut self) -> u64 {
        self.saving = Some(self.generation);
        self.generation
    }

    pub fn saved(&mut self, generation: u64, sha256: String, at: Timestamp) {
        self.saving = None;
        self.saved_generation = self.saved_generation.max(generation);
        if self.dirty() {
            self.first_unsaved = Some(at);
        } else {
            self.first_unsaved = None;
            self.status = NotesStatus::Saved {
                at: Some(at),
                sha256: Some(sha256),
            };
        }
    }

    pub fn failed(&mut self, error: String) {
        self.saving = None;
        self.status = NotesStatus::Failed(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).unwrap()
    }

    #[test]
    fn saves_after_a_pause_or_two_seconds_of_typing() {
        let mut n = NotesState::new("# incident\n");
        assert_eq!(n.text(), "# incident\n");
        assert!(!n.due(t(5_000)));
        n.edited(t(0));
        assert!(!n.due(t(500)), "still typing");
        assert!(n.due(t(1_000)), "a pause of one second");
        // Typing on without a pause: due two seconds after the first unsaved key.
        n.edited(t(900));
        n.edited(t(1_800));
        assert!(n.due(t(2_000)));
        let g = n.start_save();
        assert!(!n.due(t(3_000)), "one save at a time");
        n.edited(t(2_100));
        n.saved(g, "abc".into(), t(2_200));
        assert!(n.dirty(), "the key typed during the save is not saved yet");
        assert!(n.due(t(3_200)));
        let g = n.start_save();
        n.saved(g, "def".into(), t(3_300));
        assert!(!n.dirty());
        assert!(matches!(n.status, NotesStatus::Saved { .. }));
    }
}
