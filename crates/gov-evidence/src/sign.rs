//! Sealing: the canonical hash of a document and its Ed25519 signature, carried in the
//! document's `integrity` member.
//!
//! The signed message is the domain tag `gov-evidence-v1`, a NUL, and the 64 ASCII characters
//! of `bundle_hash`; the hash covers the canonical JSON of the document without `integrity`.
//! A key's id is the first 16 hex characters of blake3 over its 32 public-key bytes.

use ed25519_dalek::Signer;
use serde::Serialize;
use serde_json::Value;

use crate::Integrity;
use crate::canonical::{to_canonical, to_canonical_without};

const SIGNATURE_DOMAIN: &[u8] = b"gov-evidence-v1\0";
pub const CANONICALIZATION: &str = "gov-jcs-v1";
pub const HASH_ALGORITHM: &str = "blake3";
pub const SIGNATURE_ALGORITHM: &str = "ed25519";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a key is 64 hex characters (32 bytes)")]
    Malformed,
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
}

/// The deployment's private signing key. Its bytes are never formatted: `Debug` shows the id.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().key_id())
    }
}

impl SigningKey {
    /// The key from its 32-byte seed (the caller draws the randomness).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The key from the 64 hex characters of its seed.
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        decode_32(hex).map(Self::from_seed)
    }

    /// The seed as hex, for storing the key; never log it.
    pub fn seed_hex(&self) -> String {
        to_hex(&self.0.to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl PublicKey {
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let bytes = decode_32(hex)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| KeyError::InvalidPublicKey)
    }

    pub fn to_hex(&self) -> String {
        to_hex(self.0.as_bytes())
    }

    /// The key's fingerprint: the first 16 hex characters of blake3 over its bytes.
    pub fn key_id(&self) -> String {
        blake3::hash(self.0.as_bytes()).to_hex()[..16].to_owned()
    }

    /// Whether `signature_hex` is this key's signature of `bundle_hash`.
    pub fn verifies(&self, bundle_hash: &str, signature_hex: &str) -> bool {
        let Some(bytes) = decode_hex(signature_hex).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        self.0.verify_strict(&message(bundle_hash), &signature).is_ok()
    }
}

/// A document sealed for download: its bytes (canonical JSON including `integrity`) and the
/// values an export record keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    pub bundle_hash: String,
    pub key_id: String,
}

/// The canonical blake3 hash of `document` without its `integrity` member.
pub fn bundle_hash(document: &Value) -> String {
    blake3::hash(to_canonical_without(document, "integrity").as_bytes()).to_hex().to_string()
}

/// Hashes and signs `document` (which must serialise to a JSON object) and returns it with its
/// `integrity` member, as canonical JSON.
pub fn seal<T: Serialize>(document: &T, key: &SigningKey) -> Sealed {
    // The bundle types are plain data: serialising them cannot fail.
    let mut value = serde_json::to_value(document).unwrap_or(Value::Null);
    let hash = bundle_hash(&value);
    let public = key.public_key();
    let integrity = Integrity {
        canonicalization: CANONICALIZATION.to_owned(),
        hash_algorithm: HASH_ALGORITHM.to_owned(),
        bundle_hash: hash.clone(),
        signature_algorithm: SIGNATURE_ALGORITHM.to_owned(),
        key_id: public.key_id(),
        public_key: public.to_hex(),
        signature: to_hex(&key.0.sign(&message(&hash)).to_bytes()),
    };
    if let Value::Object(map) = &mut value {
        map.insert("integrity".to_owned(), serde_json::to_value(&integrity).unwrap_or(Value::Null));
    }
    Sealed { bytes: to_canonical(&value).into_bytes(), bundle_hash: hash, key_id: public.key_id() }
}

fn message(bundle_hash: &str) -> Vec<u8> {
    [SIGNATURE_DOMAIN, bundle_hash.as_bytes()].concat()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

fn decode_32(hex: &str) -> Result<[u8; 32], KeyError> {
    decode_hex(hex).and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or(KeyError::Malformed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_sealed_document_verifies_and_an_edit_does_not() {
        let key = SigningKey::from_seed([7; 32]);
        let sealed = seal(&json!({"b": 1.0, "a": "x"}), &key);
        let doc: Value = serde_json::from_slice(&sealed.bytes).unwrap();
        let integrity: Integrity = serde_json::from_value(doc["integrity"].clone()).unwrap();
        assert_eq!(bundle_hash(&doc), sealed.bundle_hash);
        assert_eq!(integrity.bundle_hash, sealed.bundle_hash);
        let public = PublicKey::from_hex(&integrity.public_key).unwrap();
        assert_eq!(public, key.public_key());
        assert!(public.verifies(&integrity.bundle_hash, &integrity.signature));

        let mut edited = doc.clone();
        edited["a"] = json!("y");
        assert_ne!(bundle_hash(&edited), sealed.bundle_hash);
        let other = SigningKey::from_seed([8; 32]).public_key();
        assert!(!other.verifies(&integrity.bundle_hash, &integrity.signature));
        assert!(!public.verifies(&integrity.bundle_hash, "00"));
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let key = SigningKey::from_seed([42; 32]);
        assert_eq!(SigningKey::from_hex(&key.seed_hex()).unwrap().public_key(), key.public_key());
        assert_eq!(key.public_key().key_id().len(), 16);
        assert_eq!(SigningKey::from_hex("abc").unwrap_err(), KeyError::Malformed);
        assert!(!format!("{key:?}").contains(&key.seed_hex()));
    }
}
