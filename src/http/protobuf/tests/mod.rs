//! Unit tests of the decoder on hand-built bodies, laid out as upstream's generated.proto
//! numbers the fields: well-formed objects ([`objects`]) are compared with the JSON
//! kube-apiserver would accept; malformed and random bodies ([`malformed`]) must give
//! errors and never panic. This file holds the tiny encoder both use.

mod malformed;
mod objects;

use super::MAGIC;

// === a tiny encoder, for building bodies by hand ===

/// A message under construction: append fields with the builder methods.
#[derive(Clone, Default)]
pub struct Pb(pub Vec<u8>);

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Pb {
    pub fn key(mut self, tag: u32, wire: u8) -> Self {
        push_varint(&mut self.0, (u64::from(tag) << 3) | u64::from(wire));
        self
    }
    pub fn int(self, tag: u32, v: i64) -> Self {
        let mut s = self.key(tag, 0);
        push_varint(&mut s.0, v as u64);
        s
    }
    pub fn bytes(self, tag: u32, b: &[u8]) -> Self {
        let mut s = self.key(tag, 2);
        push_varint(&mut s.0, b.len() as u64);
        s.0.extend_from_slice(b);
        s
    }
    pub fn str(self, tag: u32, v: &str) -> Self {
        self.bytes(tag, v.as_bytes())
    }
    pub fn msg(self, tag: u32, m: Pb) -> Self {
        self.bytes(tag, &m.0)
    }
    pub fn entry(self, tag: u32, k: &str, v: &[u8]) -> Self {
        self.msg(tag, Pb::default().str(1, k).bytes(2, v))
    }
}

pub fn envelope(api_version: &str, kind: &str, object: Pb) -> Vec<u8> {
    let unknown = Pb::default()
        .msg(1, Pb::default().str(1, api_version).str(2, kind))
        .msg(2, object);
    [MAGIC.as_slice(), &unknown.0].concat()
}

pub fn meta(name: &str) -> Pb {
    Pb::default().str(1, name).str(3, "demo")
}
