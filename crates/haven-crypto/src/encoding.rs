//! Unambiguous byte encodings shared by the modules that hash or authenticate structured data.
//!
//! Concatenating strings is ambiguous ("ab" + "c" = "a" + "bc"), so everything that goes into
//! associated data, key-derivation labels with variable parts, or a hash is written as a sequence of
//! length-prefixed parts. The length is a 64-bit big-endian count, so no input can overflow it.

/// Appends `bytes` to `out`, preceded by its length.
pub(crate) fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Encodes `parts` as one unambiguous byte string.
pub(crate) fn parts(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for p in parts {
        put(&mut out, p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_between_parts_change_the_encoding() {
        assert_ne!(parts(&[b"ab", b"c"]), parts(&[b"a", b"bc"]));
        assert_ne!(parts(&[b"abc"]), parts(&[b"abc", b""]));
        assert_eq!(parts(&[b"ab"]), [0, 0, 0, 0, 0, 0, 0, 2, b'a', b'b']);
    }
}
