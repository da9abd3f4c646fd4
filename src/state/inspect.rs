//! The inspect pane: what `ktui checkpoint inspect` says of an archive in the case (a CRIU
//! checkpoint or a live snapshot), read in the background, with a memory search (`/`) that
//! reads the archive again with `--grep`.

use std::path::PathBuf;

/// One reading of the archive, as it is (or was) asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectStatus {
    Reading,
    Read,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectState {
    pub archive: PathBuf,
    /// The text view (`render_text`, sanitised), one entry per line.
    pub lines: Vec<String>,
    pub scroll: usize,
    /// Counts readings; a result for an older one is dropped.
    pub request: u64,
    pub status: InspectStatus,
    /// The text the memory was searched for (the reading in `lines` holds its matches).
    pub grep: Option<String>,
    /// Occurrences found by the last search.
    pub matches: Option<usize>,
}

impl InspectState {
    pub fn new(archive: PathBuf, request: u64) -> Self {
        Self {
            archive,
            lines: Vec::new(),
            scroll: 0,
            request,
            status: InspectStatus::Reading,
            grep: None,
            matches: None,
        }
    }

    /// The archive's file name, for the pane's title.
    pub fn name(&self) -> String {
        self.archive.file_name().map_or_else(
            || self.archive.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// Scroll by `delta` lines, kept within the text (`page`: lines on screen).
    pub fn scroll_by(&mut self, delta: isize, page: usize) {
        let max = self.lines.len().saturating_sub(page.max(1));
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }

    /// The first line of the matches section, where a search result is shown from.
    pub fn matches_line(&self) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| l.trim_start().to_ascii_lowercase().starts_with("matches"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_stays_within_the_text() {
        let mut s = InspectState::new(PathBuf::from("/case/a.tar"), 1);
        s.lines = (0..30).map(|i| format!("line {i}")).collect();
        s.scroll_by(-5, 10);
        assert_eq!(s.scroll, 0);
        s.scroll_by(100, 10);
        assert_eq!(s.scroll, 20);
        assert_eq!(s.name(), "a.tar");
    }
}
