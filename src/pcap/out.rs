//! Output lines collected in a 1 MiB buffer and written to stdout in whole chunks (each ends
//! at a line end, so stdout's line buffering passes them straight through).

use std::io::{self, Write};

const CHUNK: usize = 1 << 20;

pub struct Out<W: Write = io::StdoutLock<'static>> {
    buf: Vec<u8>,
    sink: W,
}

impl Out {
    pub fn stdout() -> Out {
        Out::new(io::stdout().lock())
    }
}

impl<W: Write> Out<W> {
    pub fn new(sink: W) -> Out<W> {
        Out {
            buf: Vec::with_capacity(CHUNK + 64 * 1024),
            sink,
        }
    }

    /// Where the next lines go.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes the buffer out once it holds a chunk.
    pub fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        let written = self.sink.write_all(&self.buf);
        self.buf.clear();
        written?;
        self.sink.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_chunks_and_on_flush() {
        let mut out = Out::new(Vec::new());
        out.buf().extend_from_slice(b"a\n");
        out.maybe_flush().unwrap();
        assert!(out.sink.is_empty());
        out.buf().extend(std::iter::repeat_n(b'x', CHUNK));
        out.maybe_flush().unwrap();
        assert_eq!(out.sink.len(), CHUNK + 2);
        out.buf().extend_from_slice(b"b\n");
        out.flush().unwrap();
        assert!(out.sink.ends_with(b"xb\n"));
    }
}
