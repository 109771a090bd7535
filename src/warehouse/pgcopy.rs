//! PostgreSQL's binary COPY format (`COPY (…) TO STDOUT (FORMAT binary)`), as the ETL reads
//! it: the stream is cut into batches of whole tuples, and a batch is walked tuple by tuple
//! with every field borrowed from the batch's bytes (PostgreSQL docs, "COPY" → "Binary
//! Format": an 11-byte signature, flags, a header extension, then per tuple an int16 field
//! count and per field an int32 length (-1 for NULL) and the value in the type's send format,
//! and an int16 -1 trailer; all integers in network byte order).

use anyhow::{bail, ensure, Context};

use crate::store::copy_in::{PG_EPOCH_MICROS, SIGNATURE};

/// Cuts a COPY stream, fed as it arrives, into batches of whole tuples.
#[derive(Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Bytes of `buf` that are whole tuples.
    framed: usize,
    rows: usize,
    header_seen: bool,
    ended: bool,
}

/// Whole tuples (no header, no trailer) and how many.
pub struct Batch {
    pub bytes: Vec<u8>,
    pub rows: usize,
}

impl Framer {
    /// Appends a piece of the stream; returns a batch once at least `rows` tuples are whole.
    pub fn push(&mut self, data: &[u8], rows: usize) -> anyhow::Result<Option<Batch>> {
        ensure!(!self.ended, "COPY data after the trailer");
        self.buf.extend_from_slice(data);
        if !self.header_seen {
            if self.buf.len() < SIGNATURE.len() + 8 {
                return Ok(None);
            }
            ensure!(self.buf.starts_with(SIGNATURE), "not a binary COPY stream");
            let at = SIGNATURE.len() + 4;
            let ext = u32::from_be_bytes(self.buf[at..at + 4].try_into()?) as usize;
            if self.buf.len() < at + 4 + ext {
                return Ok(None);
            }
            self.buf.drain(..at + 4 + ext);
            self.header_seen = true;
        }
        while let Some(len) = tuple_len(&self.buf[self.framed..])? {
            if len == 0 {
                self.ended = true;
                self.buf.truncate(self.framed);
                break;
            }
            self.framed += len;
            self.rows += 1;
        }
        Ok((self.rows >= rows.max(1)).then(|| self.take()))
    }

    /// The tuples framed so far (at the end of the stream: all of them).
    pub fn finish(&mut self) -> anyhow::Result<Batch> {
        ensure!(
            self.framed == self.buf.len(),
            "the COPY stream ended inside a tuple"
        );
        Ok(self.take())
    }

    fn take(&mut self) -> Batch {
        let rest = self.buf.split_off(self.framed);
        let batch = Batch {
            bytes: std::mem::replace(&mut self.buf, rest),
            rows: std::mem::take(&mut self.rows),
        };
        self.framed = 0;
        batch
    }
}

/// The length of the whole tuple at the start of `b`, `Some(0)` for the trailer, `None` when
/// `b` holds only part of it.
fn tuple_len(b: &[u8]) -> anyhow::Result<Option<usize>> {
    let Some(count) = b.get(..2) else {
        return Ok(None);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Some(0));
    }
    ensure!(count >= 0, "bad COPY field count {count}");
    let mut at = 2;
    for _ in 0..count {
        let Some(len) = b.get(at..at + 4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes(len.try_into()?);
        at += 4 + len.max(0) as usize;
    }
    Ok((at <= b.len()).then_some(at))
}

/// Walks the tuples of a batch; each has exactly `N` fields.
pub struct Tuples<'a> {
    rest: &'a [u8],
}

impl<'a> Tuples<'a> {
    pub fn new(bytes: &'a [u8]) -> Tuples<'a> {
        Tuples { rest: bytes }
    }

    /// The next tuple's fields (`None` for SQL NULL), or `None` after the last tuple.
    #[allow(clippy::type_complexity)]
    pub fn next_tuple<const N: usize>(&mut self) -> anyhow::Result<Option<[Option<&'a [u8]>; N]>> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let count = i16::from_be_bytes(self.take(2)?.try_into()?);
        ensure!(count as usize == N, "expected {N} COPY fields, got {count}");
        let mut fields = [None; N];
        for f in &mut fields {
            let len = i32::from_be_bytes(self.take(4)?.try_into()?);
            if len >= 0 {
                *f = Some(self.take(len as usize)?);
            }
        }
        Ok(Some(fields))
    }

    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        ensure!(self.rest.len() >= n, "truncated COPY tuple");
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }
}

/// `int8` (and a NULL as `None`).
pub fn int8(f: Option<&[u8]>) -> anyhow::Result<Option<i64>> {
    f.map(|b| Ok(i64::from_be_bytes(b.try_into().context("int8 field")?)))
        .transpose()
}

/// `timestamptz` as microseconds since the Unix epoch.
pub fn timestamptz_micros(f: Option<&[u8]>) -> anyhow::Result<i64> {
    match int8(f)? {
        Some(pg) => Ok(pg + PG_EPOCH_MICROS),
        None => bail!("NULL timestamp"),
    }
}

pub fn boolean(f: Option<&[u8]>) -> anyhow::Result<bool> {
    match f {
        Some([b]) => Ok(*b != 0),
        _ => bail!("bad boolean field"),
    }
}

pub fn uuid(f: Option<&[u8]>) -> anyhow::Result<uuid::Uuid> {
    let b: [u8; 16] = f.context("NULL uuid")?.try_into().context("uuid field")?;
    Ok(uuid::Uuid::from_bytes(b))
}

/// `text` (and `varchar`): UTF-8 bytes as sent by a UTF-8 server.
pub fn text(f: Option<&[u8]>) -> anyhow::Result<&str> {
    Ok(std::str::from_utf8(f.context("NULL text")?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut t = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                Some(b) => {
                    t.extend((b.len() as i32).to_be_bytes());
                    t.extend(*b);
                }
                None => t.extend((-1i32).to_be_bytes()),
            }
        }
        t
    }

    #[test]
    fn frames_a_stream_cut_anywhere() {
        let mut stream = SIGNATURE.to_vec();
        stream.extend(0u32.to_be_bytes());
        stream.extend(0u32.to_be_bytes());
        for i in 0..5i64 {
            stream.extend(tuple(&[Some(&i.to_be_bytes()), None, Some(b"x\"y")]));
        }
        stream.extend((-1i16).to_be_bytes());
        for cut in 1..stream.len() {
            let mut framer = Framer::default();
            let mut seen = Vec::new();
            for piece in stream.chunks(cut) {
                if let Some(b) = framer.push(piece, 2).unwrap() {
                    seen.push(b);
                }
            }
            seen.push(framer.finish().unwrap());
            let mut ids = Vec::new();
            for b in &seen {
                let mut t = Tuples::new(&b.bytes);
                let mut n = 0;
                while let Some([id, null, s]) = t.next_tuple::<3>().unwrap() {
                    ids.push(int8(id).unwrap().unwrap());
                    assert_eq!(null, None);
                    assert_eq!(text(s).unwrap(), "x\"y");
                    n += 1;
                }
                assert_eq!(n, b.rows);
            }
            assert_eq!(ids, vec![0, 1, 2, 3, 4], "cut {cut}");
        }
    }
}
