//! Rows in PostgreSQL's binary COPY format, for `COPY … FROM STDIN (FORMAT binary)` (PostgreSQL
//! docs, "COPY" → "Binary Format": an 11-byte signature, an int32 of flags and an int32 header
//! extension length, then per tuple an int16 field count and per field an int32 length (-1 for
//! NULL) and the value in the type's send format, and an int16 -1 trailer; all integers in
//! network byte order). The ETL reads the same format (`warehouse::pgcopy`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The binary COPY signature that starts every stream.
pub const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A COPY stream being written, tuple by tuple; each tuple must get as many fields as the
/// COPY command lists columns. The bytes written so far can be sent and cleared as often as
/// wanted ([`CopyRows::bytes`], [`CopyRows::clear`]), so a long stream needs no more memory
/// than one chunk.
pub struct CopyRows {
    bytes: Vec<u8>,
}

impl CopyRows {
    /// A stream that starts with the header.
    pub fn new() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(SIGNATURE);
        bytes.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
        bytes.extend_from_slice(&0i32.to_be_bytes()); // no header extension
        CopyRows { bytes }
    }

    /// Starts a tuple of `fields` fields.
    pub fn row(&mut self, fields: i16) -> &mut Self {
        self.bytes.extend_from_slice(&fields.to_be_bytes());
        self
    }

    fn field(&mut self, value: &[u8]) -> &mut Self {
        let len = i32::try_from(value.len()).expect("a COPY field is under 2 GiB");
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(value);
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&(-1i32).to_be_bytes());
        self
    }

    /// `bigint`.
    pub fn int8(&mut self, v: i64) -> &mut Self {
        self.field(&v.to_be_bytes())
    }

    /// `uuid`: its 16 bytes.
    pub fn uuid(&mut self, v: Uuid) -> &mut Self {
        self.field(v.as_bytes())
    }

    pub fn opt_uuid(&mut self, v: Option<Uuid>) -> &mut Self {
        match v {
            Some(v) => self.uuid(v),
            None => self.null(),
        }
    }

    /// `timestamptz`: microseconds since PostgreSQL's epoch.
    pub fn timestamptz(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.int8(t.timestamp_micros() - PG_EPOCH_MICROS)
    }

    /// `text`, and `json`, whose send format is its text.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.field(s.as_bytes())
    }

    /// The bytes written since the last [`CopyRows::clear`].
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Forgets the bytes written so far (once sent), keeping the buffer.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Ends the stream with its trailer; [`CopyRows::bytes`] then holds the rest to send.
    pub fn finish(&mut self) {
        self.bytes.extend_from_slice(&(-1i16).to_be_bytes());
    }
}

impl Default for CopyRows {
    fn default() -> Self {
        CopyRows::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_header_tuples_of_length_prefixed_fields_and_trailer_however_it_is_cut() {
        let mut rows = CopyRows::new();
        let t = DateTime::parse_from_rfc3339("2000-01-01T00:00:01Z")
            .unwrap()
            .with_timezone(&Utc);
        rows.row(4).int8(7).null();
        let mut bytes = rows.bytes().to_vec();
        rows.clear();
        rows.timestamptz(t).text("é");
        rows.finish();
        bytes.extend_from_slice(rows.bytes());
        let mut expected = SIGNATURE.to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 4]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        expected.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]);
        expected.extend_from_slice(&[0, 0, 0, 2, 0xc3, 0xa9]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(bytes, expected);
    }
}
