//! `--grep TEXT`: every occurrence of a fixed byte string in a stream read in bounded chunks.
//!
//! Each chunk is searched together with the last `len(TEXT) - 1` bytes of the one before, so an
//! occurrence that straddles two chunks is found; occurrences are reported left to right and
//! never overlap, as `grep -abo` reports them, at their offset from the start of the stream.

use memchr::memmem::Finder;

/// Bytes read per search (plus the overlap).
pub const CHUNK: usize = 1024 * 1024;
/// The longest TEXT accepted.
pub const MAX_TEXT: usize = 4096;

pub struct Scanner {
    finder: Finder<'static>,
    buf: Vec<u8>,
}

impl Scanner {
    /// `None` for an empty text (it would match everywhere) or one over [`MAX_TEXT`].
    pub fn new(text: &[u8]) -> Option<Self> {
        if text.is_empty() || text.len() > MAX_TEXT {
            return None;
        }
        Some(Self::with_chunk(text, CHUNK))
    }

    fn with_chunk(text: &[u8], chunk: usize) -> Self {
        Self {
            finder: Finder::new(text).into_owned(),
            buf: vec![0; chunk + text.len() - 1],
        }
    }

    pub fn text(&self) -> &[u8] {
        self.finder.needle()
    }

    /// Reads with `read` (0 = end) and calls `found` with each occurrence's offset; returns the
    /// bytes read.
    pub fn scan<E>(
        &mut self,
        mut read: impl FnMut(&mut [u8]) -> Result<usize, E>,
        mut found: impl FnMut(u64),
    ) -> Result<u64, E> {
        let n = self.finder.needle().len();
        let keep = n - 1;
        let (mut carry, mut base, mut next_allowed) = (0usize, 0u64, 0u64);
        loop {
            let mut filled = carry;
            while filled < self.buf.len() {
                let got = read(&mut self.buf[filled..])?;
                if got == 0 {
                    break;
                }
                filled += got;
            }
            if filled == carry {
                return Ok(base + carry as u64);
            }
            // Start where the last occurrence ended (no overlaps), or at the window.
            let from = usize::try_from(next_allowed.saturating_sub(base))
                .map_or(filled, |f| f.min(filled));
            for i in self.finder.find_iter(&self.buf[from..filled]) {
                let at = base + (from + i) as u64;
                found(at);
                next_allowed = at + n as u64;
            }
            let k = keep.min(filled);
            self.buf.copy_within(filled - k..filled, 0);
            base += (filled - k) as u64;
            carry = k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence, left to right, non-overlapping: the reference.
    fn naive(hay: &[u8], needle: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        let mut i = 0;
        while i + needle.len() <= hay.len() {
            if &hay[i..i + needle.len()] == needle {
                out.push(i as u64);
                i += needle.len();
            } else {
                i += 1;
            }
        }
        out
    }

    /// Scans `hay` handing out at most `step` bytes per read.
    fn scan(hay: &[u8], needle: &[u8], chunk: usize, step: usize) -> (Vec<u64>, u64) {
        let mut s = Scanner::with_chunk(needle, chunk);
        let mut pos = 0;
        let mut hits = Vec::new();
        let total = s
            .scan(
                |buf: &mut [u8]| -> Result<usize, ()> {
                    let n = buf.len().min(step).min(hay.len() - pos);
                    buf[..n].copy_from_slice(&hay[pos..pos + n]);
                    pos += n;
                    Ok(n)
                },
                |at| hits.push(at),
            )
            .unwrap();
        (hits, total)
    }

    #[test]
    fn occurrences_across_every_chunk_boundary_are_found_once() {
        let needle = b"KTUI_SECRET_7731";
        for chunk in [1, 2, 5, 15, 16, 17, 64] {
            for shift in 0..20 {
                let mut hay = vec![b'.'; shift];
                for _ in 0..5 {
                    hay.extend_from_slice(needle);
                    hay.extend_from_slice(b"..x.");
                }
                hay.extend_from_slice(needle);
                hay.extend_from_slice(needle); // adjacent
                for step in [1, 3, chunk, usize::MAX] {
                    let (hits, total) = scan(&hay, needle, chunk, step);
                    assert_eq!(hits, naive(&hay, needle), "chunk {chunk} shift {shift}");
                    assert_eq!(total, hay.len() as u64);
                }
            }
        }
    }

    #[test]
    fn self_overlapping_text_reports_like_grep_o() {
        // grep -o finds ABA once in ABABA, AA twice in AAAAA (non-overlapping).
        for (hay, needle) in [
            (&b"ABABA"[..], &b"ABA"[..]),
            (b"AAAAA", b"AA"),
            (b"xAAAAAAAy", b"AAA"),
        ] {
            for chunk in 1..8 {
                let (hits, _) = scan(hay, needle, chunk, usize::MAX);
                assert_eq!(hits, naive(hay, needle), "{hay:?} {needle:?} chunk {chunk}");
            }
        }
        assert_eq!(naive(b"AAAAA", b"AA"), vec![0, 2]);
    }

    #[test]
    fn empty_and_huge_texts_are_refused() {
        assert!(Scanner::new(b"").is_none());
        assert!(Scanner::new(&vec![b'a'; MAX_TEXT + 1]).is_none());
        assert!(Scanner::new(b"x").is_some());
    }

    #[test]
    fn an_empty_stream_has_no_occurrence() {
        assert_eq!(scan(b"", b"ab", 4, 4), (vec![], 0));
    }
}
