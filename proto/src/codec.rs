//! The one place that turns protocol values into bytes and back.
//!
//! serde + bincode 2 (standard configuration), behind a one-byte format version. A reader
//! refuses a version it does not know instead of misreading it; a future format gets a
//! new version byte and a decoder for the old one here, nowhere else.

use serde::{de::DeserializeOwned, Serialize};

/// The version byte written in front of every encoded message.
///
/// Version 2 added request ids to log entries (grouped [`Proposal`](crate::Proposal)s);
/// version 1 was only ever written by single-node development builds, whose data dirs
/// the data-dir header refuses with instructions, so no decoder for it is kept.
pub const FORMAT_VERSION: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty message: no format version byte")]
    Empty,
    #[error("unknown format version {found} (this build reads version {FORMAT_VERSION}); upgrade keelson to read this data")]
    UnknownVersion { found: u8 },
    #[error("cannot encode message: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    #[error("cannot decode message: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    #[error("{trailing} trailing bytes after the message")]
    Trailing { trailing: usize },
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes `value` with the current format version in front.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![FORMAT_VERSION];
    let body = bincode::serde::encode_to_vec(value, config())?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Encodes `value` like [`encode`], straight into `writer`: for messages too large to
/// hold twice (snapshots). Returns how many bytes were written.
pub fn encode_to_writer<T: Serialize, W: std::io::Write>(
    value: &T,
    writer: &mut W,
) -> Result<usize, CodecError> {
    writer
        .write_all(&[FORMAT_VERSION])
        .map_err(|inner| bincode::error::EncodeError::Io { inner, index: 0 })?;
    let body = bincode::serde::encode_into_std_write(value, writer, config())?;
    Ok(1 + body)
}

/// Decodes a message written by [`encode`], checking its format version.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { found: version });
    }
    let (value, read) = bincode::serde::decode_from_slice(body, config())?;
    if read != body.len() {
        return Err(CodecError::Trailing {
            trailing: body.len() - read,
        });
    }
    Ok(value)
}

/// Decodes the leading part of a message written by [`encode`], ignoring what follows:
/// a struct made of a message's first fields, in order, reads just those. Lets a reader
/// that needs a record's key skip decoding (and copying) its large values.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnknownVersion { found: version });
    }
    let (value, _) = bincode::serde::decode_from_slice(body, config())?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Batch, Command, Precondition};

    fn sample() -> Batch {
        Batch {
            commands: vec![
                Command::Create {
                    key: "/registry/configmaps/default/a".into(),
                    value: b"{}".to_vec(),
                },
                Command::Delete {
                    key: "/registry/configmaps/default/b".into(),
                    precondition: Precondition::at_revision(7),
                },
            ],
        }
    }

    #[test]
    fn a_prefix_reads_the_first_fields_only() {
        #[derive(serde::Serialize)]
        struct Whole {
            revision: u64,
            key: String,
            value: Vec<u8>,
        }
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Head {
            revision: u64,
            key: String,
        }
        let whole = Whole {
            revision: 300,
            key: "/registry/a".into(),
            value: vec![7; 1000],
        };
        let bytes = encode(&whole).unwrap();
        let head: Head = decode_prefix(&bytes).unwrap();
        assert_eq!(
            head,
            Head {
                revision: 300,
                key: "/registry/a".into()
            }
        );
        assert!(
            decode::<Head>(&bytes).is_err(),
            "a full decode refuses the rest"
        );
        assert!(matches!(
            decode_prefix::<Head>(&[9, 1]),
            Err(CodecError::UnknownVersion { found: 9 })
        ));
        assert!(decode_prefix::<Head>(&bytes[..3]).is_err());
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(bytes[0], FORMAT_VERSION);
        let back: Batch = decode(&bytes).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn refuses_unknown_version() {
        let mut bytes = encode(&sample()).unwrap();
        bytes[0] = 99;
        assert!(matches!(
            decode::<Batch>(&bytes),
            Err(CodecError::UnknownVersion { found: 99 })
        ));
    }

    #[test]
    fn refuses_truncated_and_trailing_bytes() {
        let bytes = encode(&sample()).unwrap();
        assert!(decode::<Batch>(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode::<Batch>(&longer),
            Err(CodecError::Trailing { .. })
        ));
        assert!(matches!(decode::<Batch>(&[]), Err(CodecError::Empty)));
    }
}
