//! The protobuf wire format, read by hand: a field key (number and wire type) followed by
//! a varint, a fixed 32/64-bit value or a length-delimited byte string. Nothing here
//! knows about Kubernetes; every read is bounds-checked, so any input gives a value or an
//! error, never a panic.

use super::error::ProtobufError;

/// One field's value as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads fields front to back from a byte slice.
pub struct Reader<'a> {
    rest: &'a [u8],
}

// === impl Reader ===

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// A base-128 varint of at most ten bytes (negative int32/int64 take all ten).
    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self
                .rest
                .split_first()
                .ok_or(ProtobufError::Truncated("varint"))?;
            self.rest = rest;
            if i == 9 && byte > 1 {
                return Err(ProtobufError::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::VarintOverflow)
    }

    fn take<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ProtobufError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(ProtobufError::Truncated(what))?;
        self.rest = rest;
        Ok(*head)
    }

    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        self.take::<8>("fixed64").map(u64::from_le_bytes)
    }

    fn length_delimited(&mut self) -> Result<&'a [u8], ProtobufError> {
        let length = self.varint()?;
        let remaining = self.rest.len();
        let n = usize::try_from(length)
            .ok()
            .filter(|n| *n <= remaining)
            .ok_or(ProtobufError::LengthPastEnd { length, remaining })?;
        let (bytes, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(bytes)
    }

    /// The next field's number and value, or `None` at the end.
    pub fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, ProtobufError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3)
            .ok()
            .filter(|t| (1..1 << 29).contains(t))
            .ok_or(ProtobufError::InvalidTag(key >> 3))?;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(self.fixed64()?),
            2 => WireValue::Bytes(self.length_delimited()?),
            5 => WireValue::Fixed32(self.take::<4>("fixed32").map(u32::from_le_bytes)?),
            other => return Err(ProtobufError::UnsupportedWireType(other as u8)),
        };
        Ok(Some((tag, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(Reader::new(&[0x96, 0x01]).varint().unwrap(), 150);
        let minus_one = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&minus_one).varint().unwrap() as i64, -1);
        assert!(matches!(
            Reader::new(&[0x80, 0x80]).varint(),
            Err(ProtobufError::Truncated(_))
        ));
        let too_long = [0xff; 11];
        assert!(matches!(
            Reader::new(&too_long).varint(),
            Err(ProtobufError::VarintOverflow)
        ));
        let overflowing = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(
            Reader::new(&overflowing).varint(),
            Err(ProtobufError::VarintOverflow)
        ));
    }

    #[test]
    fn fields() {
        let mut reader = Reader::new(&[
            0x08, 0x05, 0x12, 0x02, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(
            reader.next_field().unwrap(),
            Some((1, WireValue::Varint(5)))
        );
        assert_eq!(
            reader.next_field().unwrap(),
            Some((2, WireValue::Bytes(b"hi")))
        );
        assert_eq!(
            reader.next_field().unwrap(),
            Some((3, WireValue::Fixed64(1)))
        );
        assert_eq!(reader.next_field().unwrap(), None);
        assert!(matches!(
            Reader::new(&[0x12, 0x05, 1]).next_field(),
            Err(ProtobufError::LengthPastEnd {
                length: 5,
                remaining: 1
            })
        ));
        assert!(matches!(
            Reader::new(&[0x00, 0x01]).next_field(),
            Err(ProtobufError::InvalidTag(0))
        ));
        assert!(matches!(
            Reader::new(&[0x0b]).next_field(),
            Err(ProtobufError::UnsupportedWireType(3))
        ));
        assert!(matches!(
            Reader::new(&[0x09, 1, 2]).next_field(),
            Err(ProtobufError::Truncated("fixed64"))
        ));
    }
}
