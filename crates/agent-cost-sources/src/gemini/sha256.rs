//! The hash Gemini CLI names older projects by: SHA-256 of the project root, as lowercase hex.

use sha2::{Digest, Sha256};

/// The SHA-256 digest of `data` as 64 lowercase hex digits.
pub fn hex_digest(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::hex_digest;

    #[test]
    fn hex_of_a_known_digest() {
        assert_eq!(
            hex_digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
