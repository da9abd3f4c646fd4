//! The logs pane: raw bytes kept for saving, sanitised lines for display.

use crate::cluster::LogRequest;
use crate::sanitize;

/// Most lines kept in the pane; older ones scroll away (the raw bytes stay bounded too).
pub const MAX_LINES: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogsStatus {
    Loading,
    Loaded,
    Following,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct LogsState {
    pub request: LogRequest,
    pub status: LogsStatus,
    /// Exactly what the API server sent (saved as is).
    pub raw: Vec<u8>,
    /// Sanitised lines for display.
    pub lines: Vec<String>,
    /// First line shown.
    pub scroll: usize,
    /// Keep the view at the end as lines arrive.
    pub follow: bool,
    pub wrap: bool,
    pub search: String,
    /// Lines matching `search`.
    pub matches: Vec<usize>,
    pub current_match: usize,
    /// Height of the text area at the last render (for paging and follow).
    pub page: usize,
    /// Bytes that ended without a newline, waiting for the rest of their line.
    partial: Vec<u8>,
}

impl LogsState {
    pub fn new(request: LogRequest) -> Self {
        Self {
            request,
            status: LogsStatus::Loading,
            raw: Vec::new(),
            lines: Vec::new(),
            scroll: 0,
            follow: false,
            wrap: false,
            search: String::new(),
            matches: Vec::new(),
            current_match: 0,
            page: 20,
            partial: Vec::new(),
        }
    }

    /// Replace the content (a full fetch).
    pub fn set(&mut self, bytes: Vec<u8>) {
        self.raw.clear();
        self.lines.clear();
        self.partial.clear();
        self.append(&bytes);
        self.status = LogsStatus::Loaded;
    }

    /// Add a chunk (follow mode).
    pub fn append(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.partial.extend_from_slice(bytes);
        if let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') {
            let complete: Vec<u8> = self.partial.drain(..=end).collect();
            self.lines.extend(sanitize::lines(&complete));
        }
        if self.lines.len() > MAX_LINES {
            let drop = self.lines.len() - MAX_LINES;
            self.lines.drain(..drop);
            self.scroll = self.scroll.saturating_sub(drop);
        }
        self.recompute_matches();
        if self.follow {
            self.scroll_to_end();
        }
    }

    /// Lines including an unfinished last line.
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    pub fn max_scroll(&self) -> usize {
        self.lines.len().saturating_sub(self.page.max(1))
    }

    pub fn scroll_by(&mut self, delta: isize) {
        let next = self.scroll.saturating_add_signed(delta);
        self.scroll = next.min(self.max_scroll());
        if delta < 0 {
            self.follow = false;
        }
    }

    pub fn scroll_to_end(&mut self) {
        self.scroll = self.max_scroll();
    }

    pub fn set_search(&mut self, text: String) {
        self.search = text;
        self.recompute_matches();
        self.current_match = 0;
        self.jump_to_match();
    }

    fn recompute_matches(&mut self) {
        if self.search.is_empty() {
            self.matches.clear();
            return;
        }
        let needle = self.search.to_lowercase();
        self.matches = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.to_lowercase().contains(&needle))
            .map(|(i, _)| i)
            .collect();
    }

    pub fn next_match(&mut self, forward: bool) {
        if self.matches.is_empty() {
            return;
        }
        let n = self.matches.len();
        self.current_match = if forward {
            (self.current_match + 1) % n
        } else {
            (self.current_match + n - 1) % n
        };
        self.jump_to_match();
    }

    fn jump_to_match(&mut self) {
        if let Some(line) = self.matches.get(self.current_match) {
            self.follow = false;
            self.scroll = line.saturating_sub(self.page / 2).min(self.max_scroll());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodKey;

    fn state() -> LogsState {
        LogsState::new(LogRequest {
            pod: PodKey::new("ns", "p"),
            container: "c".into(),
            previous: true,
            tail_lines: None,
        })
    }

    #[test]
    fn chunks_split_mid_line_join_up() {
        let mut s = state();
        s.append(b"hel");
        assert_eq!(s.lines.len(), 0);
        s.append(b"lo\nwor");
        s.append(b"ld\n");
        assert_eq!(s.lines, vec!["hello", "world"]);
        assert_eq!(s.raw, b"hello\nworld\n");
    }

    #[test]
    fn search_finds_and_cycles() {
        let mut s = state();
        s.set(b"a\nerror one\nb\nERROR two\n".to_vec());
        s.set_search("error".into());
        assert_eq!(s.matches, vec![1, 3]);
        s.next_match(true);
        assert_eq!(s.current_match, 1);
        s.next_match(true);
        assert_eq!(s.current_match, 0);
    }

    #[test]
    fn raw_bytes_are_kept_but_lines_are_sanitised() {
        let mut s = state();
        s.set(b"\x1b[2Jboom\n".to_vec());
        assert_eq!(s.raw, b"\x1b[2Jboom\n");
        assert_eq!(s.lines, vec!["\u{241b}[2Jboom"]);
    }
}
