//! Malformed, over-deep and random bodies: each gives an error, none panics.

use super::super::{decode, ProtobufError, MAGIC, MAX_DEPTH};
use super::{envelope, meta, Pb};

// === malformed input ===

fn error_of(body: &[u8]) -> ProtobufError {
    decode(body).expect_err("must not decode")
}

#[test]
fn malformed_bodies_are_errors() {
    assert!(matches!(
        error_of(b"{\"kind\":\"ConfigMap\"}"),
        ProtobufError::BadMagic
    ));
    assert!(matches!(error_of(b"k8s"), ProtobufError::BadMagic));
    assert!(matches!(error_of(b"k8s\0"), ProtobufError::MissingTypeMeta));
    assert!(matches!(
        error_of(b"k8s\0\x0a\x80"),
        ProtobufError::Truncated("varint")
    ));
    assert!(matches!(
        error_of(b"k8s\0\x0a\x10\x0a"),
        ProtobufError::LengthPastEnd { .. }
    ));
    let unknown_kind = envelope("v1", "Gizmo", Pb::default());
    assert!(matches!(
        error_of(&unknown_kind),
        ProtobufError::UnknownKind { .. }
    ));
    let unknown_tag = envelope(
        "v1",
        "ConfigMap",
        Pb::default().msg(1, meta("c")).str(99, "surprise"),
    );
    let err = error_of(&unknown_tag);
    assert_eq!(
        err.to_string(),
        "k8s.io.api.core.v1.ConfigMap has no field number 99"
    );
    let wrong_type = envelope("v1", "ConfigMap", Pb::default().int(1, 7));
    assert!(matches!(
        error_of(&wrong_type),
        ProtobufError::WrongWireType {
            field: "metadata",
            ..
        }
    ));
    let not_utf8 = envelope(
        "v1",
        "ConfigMap",
        Pb::default().msg(1, Pb::default().bytes(1, &[0xff, 0xfe])),
    );
    assert!(matches!(
        error_of(&not_utf8),
        ProtobufError::InvalidUtf8 { field: "name", .. }
    ));
    let bad_intorstring = envelope(
        "v1",
        "Service",
        Pb::default().msg(
            2,
            Pb::default().msg(1, Pb::default().msg(4, Pb::default().int(1, 7))),
        ),
    );
    assert!(matches!(
        error_of(&bad_intorstring),
        ProtobufError::InvalidValue { .. }
    ));
    let not_json = envelope(
        "apps/v1",
        "ControllerRevision",
        Pb::default().msg(2, Pb::default().str(1, "{nope")),
    );
    assert!(matches!(
        error_of(&not_json),
        ProtobufError::InvalidValue { .. }
    ));
    let mut encoded = Pb::default()
        .msg(1, Pb::default().str(1, "v1").str(2, "ConfigMap"))
        .str(3, "gzip")
        .0;
    encoded.splice(0..0, MAGIC.iter().copied());
    assert!(matches!(
        error_of(&encoded),
        ProtobufError::UnsupportedEncoding(_)
    ));
}

#[test]
fn deep_nesting_is_bounded() {
    let mut schema = Pb::default().str(5, "object");
    for _ in 0..(MAX_DEPTH + 10) {
        schema = Pb::default().msg(28, schema);
    }
    let version = Pb::default()
        .str(1, "v1")
        .msg(4, Pb::default().msg(1, schema));
    let crd = Pb::default()
        .msg(1, meta("x"))
        .msg(2, Pb::default().msg(7, version));
    assert!(matches!(
        error_of(&envelope(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            crd
        )),
        ProtobufError::TooDeep(_)
    ));

    let mut body = envelope("v1", "ConfigMap", Pb::default());
    for _ in 0..MAX_DEPTH {
        body = envelope(
            "apps/v1",
            "ControllerRevision",
            Pb::default().msg(2, Pb::default().bytes(1, &body)),
        );
    }
    assert!(matches!(error_of(&body), ProtobufError::TooDeep(_)));
}

// === random input never panics ===

/// xorshift64*: a fixed-seed generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x6b38_7300_1234_5678);
    let seeds = [
        envelope(
            "v1",
            "ConfigMap",
            Pb::default()
                .msg(1, meta("c").entry(11, "a", b"b"))
                .entry(2, "k", b"v"),
        ),
        envelope(
            "v1",
            "Service",
            Pb::default().msg(
                2,
                Pb::default().msg(1, Pb::default().int(3, 80).msg(4, Pb::default().int(2, 1))),
            ),
        ),
        envelope(
            "coordination.k8s.io/v1",
            "Lease",
            Pb::default().msg(2, Pb::default().msg(4, Pb::default().int(1, 5))),
        ),
    ];
    let mut decoded = 0;
    for case in 0..20_000 {
        let body: Vec<u8> = match case % 3 {
            0 => (0..rng.below(96)).map(|_| rng.next() as u8).collect(),
            1 => {
                let raw: Vec<u8> = (0..rng.below(96)).map(|_| rng.next() as u8).collect();
                envelope("v1", "Pod", Pb(raw))
            }
            _ => {
                let mut body = seeds[rng.below(seeds.len())].clone();
                for _ in 0..=rng.below(4) {
                    let i = rng.below(body.len());
                    body[i] = rng.next() as u8;
                }
                body
            }
        };
        decoded += usize::from(decode(&body).is_ok());
    }
    assert!(decoded < 20_000);
}
