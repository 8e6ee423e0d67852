//! Secret tokens for links that open without an account (calendar feeds, feedback links):
//! 256 random bits in base64url without padding (43 characters). Only a token's SHA-256 (hex)
//! is ever stored or logged; a presented token is hashed and looked up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};

/// A fresh token and its SHA-256 (hex).
pub(crate) fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = sha256_hex(&token);
    (token, hash)
}

/// SHA-256 of `token`, hex: what the log and the lookups hold.
pub(crate) fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_hash_to_64_hex_digits() {
        let (token, hash) = new_token();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash, sha256_hex(&token));
        assert_eq!(hash.len(), 64);
        assert_ne!(new_token().0, token);
        assert_eq!(
            sha256_hex("token"),
            "3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0"
        );
    }
}
