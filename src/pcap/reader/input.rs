//! A fixed buffer over the file, read in large chunks, that knows the file offset of every byte
//! it holds: records are parsed in place and errors name exact offsets.

use std::io::{self, Read};

/// The buffer's size: every record the reader accepts fits ([`super::MAX_BLOCK`]), and reads
/// this large keep the system-call count negligible.
pub const BUF_SIZE: usize = 1 << 20;

pub struct Input<R> {
    src: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<R: Read> Input<R> {
    pub fn new(src: R) -> Input<R> {
        Input {
            src,
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// File offset of the next unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes `n` bytes (at most [`BUF_SIZE`]) available from the current position and returns
    /// how many are: fewer only at the end of the file.
    pub fn fill(&mut self, n: usize) -> io::Result<usize> {
        let n = n.min(self.buf.len());
        if self.end - self.pos >= n {
            return Ok(self.end - self.pos);
        }
        if self.pos + n > self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end - self.pos < n && !self.eof {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    /// The `n` bytes from the current position; `fill(n)` must have returned at least `n`.
    pub fn peek(&self, n: usize) -> &[u8] {
        &self.buf[self.pos..self.pos + n]
    }

    /// Where the current position is in the buffer (for slices handed out after `consume`).
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn buf(&self) -> &[u8] {
        &self.buf
    }

    pub fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    /// Skips `n` bytes without keeping them; returns how many were skipped (fewer only at the
    /// end of the file).
    pub fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        while left > 0 {
            let want = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            let have = self.fill(want)?;
            if have == 0 {
                break;
            }
            let k = have.min(want);
            self.consume(k);
            left -= k as u64;
        }
        Ok(n - left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 7 bytes per call, to exercise refills.
    struct Dribble<'a>(&'a [u8]);

    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let k = self.0.len().min(out.len()).min(7);
            out[..k].copy_from_slice(&self.0[..k]);
            self.0 = &self.0[k..];
            Ok(k)
        }
    }

    #[test]
    fn offsets_survive_compaction_and_skips() {
        let data: Vec<u8> = (0..3 * BUF_SIZE + 123).map(|i| (i % 251) as u8).collect();
        let mut input = Input::new(Dribble(&data));
        let mut at = 0usize;
        let steps = [100usize, BUF_SIZE - 50, 1, BUF_SIZE, 999];
        for (i, step) in steps.into_iter().cycle().take(12).enumerate() {
            if i % 3 == 2 {
                let skipped = input.skip(step as u64).unwrap();
                at += skipped as usize;
            } else {
                let have = input.fill(step).unwrap();
                let k = have.min(step);
                assert_eq!(input.peek(k), &data[at..at + k]);
                input.consume(k);
                at += k;
            }
            assert_eq!(input.offset(), at as u64);
        }
        assert_eq!(at, data.len());
        assert_eq!(input.fill(1).unwrap(), 0);
        assert_eq!(input.skip(10).unwrap(), 0);
    }
}
