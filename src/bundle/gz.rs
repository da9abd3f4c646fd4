//! A gzip stream cut into members of at most [`CHUNK`] bytes of input, each compressed as it
//! deserves: a chunk that looks random is stored (deflate's stored blocks), the rest deflated at
//! [`LEVEL`]. Concatenated gzip members are one gzip file (RFC 1952 §2.2; `gzip -d`, `tar xzf`
//! and `flate2::read::MultiGzDecoder` read them whole).

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::GzEncoder;

/// Input bytes per gzip member.
pub const CHUNK: usize = 1 << 20;
/// Deflate level for data that compresses (gzip's default).
pub const LEVEL: u32 = 6;
/// Above this many bits per byte (of 8) a chunk is taken as random and stored.
const RANDOM_BITS: f64 = 7.5;
/// Bytes of a chunk looked at to decide.
const SAMPLE: usize = 16 * 1024;

pub struct ChunkedGz<W: Write> {
    inner: W,
    buf: Vec<u8>,
    members: u64,
    /// Members stored rather than deflated.
    pub stored: u64,
}

impl<W: Write> ChunkedGz<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(CHUNK),
            members: 0,
            stored: 0,
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        let level = if looks_random(&self.buf) {
            self.stored += 1;
            Compression::none()
        } else {
            Compression::new(LEVEL)
        };
        let mut enc = GzEncoder::new(&mut self.inner, level);
        enc.write_all(&self.buf)?;
        enc.finish()?;
        self.members += 1;
        self.buf.clear();
        Ok(())
    }

    /// Write what is left (an empty stream is still one valid member) and hand back the sink.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() || self.members == 0 {
            self.emit()?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for ChunkedGz<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.emit()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Members are whole only when emitted; what is buffered waits for its chunk.
        self.inner.flush()
    }
}

/// Shannon entropy of a strided sample of `data`, in bits per byte, above [`RANDOM_BITS`].
fn looks_random(data: &[u8]) -> bool {
    if data.len() < 512 {
        return false;
    }
    let step = (data.len() / SAMPLE).max(1);
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for &b in data.iter().step_by(step).take(SAMPLE) {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    let n = f64::from(n);
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    bits > RANDOM_BITS
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn random(n: usize) -> Vec<u8> {
        // xorshift: enough entropy to look random, no dependency.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn random_chunks_are_stored_the_rest_deflated_and_the_whole_reads_back() {
        let mut data = random(CHUNK * 2);
        data.extend(std::iter::repeat_n(0u8, CHUNK * 2));
        data.extend(b"tail");
        let mut gz = ChunkedGz::new(Vec::new());
        gz.write_all(&data).unwrap();
        let stored = gz.stored;
        let out = gz.finish().unwrap();
        assert_eq!(stored, 2, "the two random chunks");
        // Stored random data costs a few bytes per 64 KiB; the zeros nearly nothing.
        assert!(out.len() < CHUNK * 2 + 4096, "{} bytes", out.len());
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(out.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn an_empty_stream_is_one_valid_member() {
        let out = ChunkedGz::new(Vec::new()).finish().unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(out.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}
