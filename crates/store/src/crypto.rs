//! Envelope encryption of client data.
//!
//! A practice key (32 bytes, from the key file or the environment) wraps one random data key
//! per client. Each identifying or free-text field is sealed with the client's data key using
//! XChaCha20-Poly1305; the associated data binds the ciphertext to its table, column and row,
//! so a ciphertext moved to another row or column fails to open.
//!
//! Security Invariant: plaintext client data exists only in memory. Erasing a client deletes
//! the wrapped data key, after which their ciphertexts cannot be opened by anyone.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use std::path::Path;
use zeroize::Zeroize;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
pub const KEY_FILE_NAME: &str = "practice.key";
pub const KEY_ENV: &str = "CONCORD_PRACTICE_KEY";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext could not be opened (wrong key, or moved from another row)")]
    Open,
    #[error("encryption failed")]
    Seal,
    #[error("practice key: {0}")]
    Key(String),
}

type Key = SecretBox<[u8; 32]>;

fn new_key(bytes: [u8; 32]) -> Key {
    SecretBox::new(Box::new(bytes))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn seal(key: &Key, plaintext: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new(key.expose_secret().into());
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
    let ct =
        cipher.encrypt(XNonce::from_slice(&nonce_bytes), Payload { msg: plaintext, aad: aad.as_bytes() }).map_err(|_| CryptoError::Seal)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(key: &Key, sealed: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
    let (version, rest) = sealed.split_first().ok_or(CryptoError::Open)?;
    if *version != VERSION || rest.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.expose_secret().into());
    cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() }).map_err(|_| CryptoError::Open)
}

/// Associated data naming where a ciphertext lives.
pub fn field_aad(table: &str, column: &str, row_id: &str) -> String {
    format!("concord/v1/{table}/{column}/{row_id}")
}

/// The practice key: wraps client data keys and staff second-factor secrets; derives the
/// name-search key.
pub struct PracticeKey {
    key: Key,
    search_key: Key,
}

impl std::fmt::Debug for PracticeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PracticeKey(<redacted>)")
    }
}

impl PracticeKey {
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let search = derive(&bytes, b"concord/name-search/v1");
        let key = new_key(bytes);
        bytes.zeroize();
        Self { key, search_key: new_key(search) }
    }

    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }

    fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut raw = hex::decode(text.trim()).map_err(|_| CryptoError::Key("not hexadecimal".into()))?;
        let arr: Result<[u8; 32], _> = raw.as_slice().try_into();
        raw.zeroize();
        arr.map(Self::from_bytes).map_err(|_| CryptoError::Key("must be 32 bytes (64 hex digits)".into()))
    }

    /// The key from `CONCORD_PRACTICE_KEY` if set, else from `DATA_DIR/practice.key`.
    pub fn load(data_dir: &Path) -> Result<Self, CryptoError> {
        if let Ok(v) = std::env::var(KEY_ENV) {
            return Self::from_hex(&v).map_err(|e| CryptoError::Key(format!("{KEY_ENV}: {e}")));
        }
        let path = data_dir.join(KEY_FILE_NAME);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CryptoError::Key(format!("cannot read {}: {e} (run `concord init` first)", path.display())))?;
        Self::from_hex(&text).map_err(|e| CryptoError::Key(format!("{}: {e}", path.display())))
    }

    /// Creates a new key file (mode 0600); refuses to overwrite one.
    pub fn create_file(data_dir: &Path) -> Result<Self, CryptoError> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let path = data_dir.join(KEY_FILE_NAME);
        let bytes: [u8; 32] = random_bytes();
        let mut encoded = hex::encode(bytes);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let result = opts
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{encoded}\n").as_bytes()).and_then(|()| f.sync_all()))
            .map_err(|e| CryptoError::Key(format!("cannot create {}: {e}", path.display())));
        encoded.zeroize();
        result.map(|()| Self::from_bytes(bytes))
    }

    pub fn seal(&self, plaintext: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        seal(&self.key, plaintext, aad)
    }

    pub fn open(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        open(&self.key, sealed, aad)
    }

    /// A fresh client data key and its wrapped form for `client_keys.wrapped_key`.
    pub fn new_data_key(&self, client_id: &str) -> Result<(DataKey, Vec<u8>), CryptoError> {
        let mut raw: [u8; 32] = random_bytes();
        let wrapped = seal(&self.key, &raw, &field_aad("client_keys", "wrapped_key", client_id));
        let key = DataKey(new_key(raw));
        raw.zeroize();
        Ok((key, wrapped?))
    }

    pub fn unwrap_data_key(&self, client_id: &str, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        let mut raw = open(&self.key, wrapped, &field_aad("client_keys", "wrapped_key", client_id))?;
        let arr: Result<[u8; 32], _> = raw.as_slice().try_into();
        raw.zeroize();
        arr.map(|a| DataKey(new_key(a))).map_err(|_| CryptoError::Open)
    }

    /// Blind index of one name-search token within a practice: HMAC-SHA256, truncated.
    /// Equal tokens give equal entries, which is what makes search work and all it reveals.
    pub fn search_token(&self, practice_id: &str, token: &str) -> String {
        let mac = derive(self.search_key.expose_secret(), format!("{practice_id}\u{0}{token}").as_bytes());
        hex::encode(mac.get(..16).unwrap_or(&mac))
    }
}

fn derive(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut out = [0u8; 32];
    if let Ok(mut m) = <Hmac<Sha256> as Mac>::new_from_slice(key) {
        m.update(msg);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

/// One client's data key.
pub struct DataKey(Key);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn seal_str(&self, plaintext: &str, aad: &str) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, plaintext.as_bytes(), aad)
    }
    pub fn open_str(&self, sealed: &[u8], aad: &str) -> Result<String, CryptoError> {
        String::from_utf8(open(&self.0, sealed, aad)?).map_err(|_| CryptoError::Open)
    }
    /// Seals raw bytes (a generated document kept as an immutable snapshot).
    pub fn seal_bytes(&self, plaintext: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, plaintext, aad)
    }
    pub fn open_bytes(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        open(&self.0, sealed, aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_round_trip_and_binding() {
        let pk = PracticeKey::generate();
        let (dk, wrapped) = pk.new_data_key("c1").unwrap();
        let ct = dk.seal_str("Maria Lopez", &field_aad("clients", "name_ct", "c1")).unwrap();
        assert!(!ct.windows(5).any(|w| w == b"Maria"));
        let dk2 = pk.unwrap_data_key("c1", &wrapped).unwrap();
        assert_eq!(dk2.open_str(&ct, &field_aad("clients", "name_ct", "c1")).unwrap(), "Maria Lopez");
        // Moved to another row or column: refused.
        assert!(dk2.open_str(&ct, &field_aad("clients", "name_ct", "c2")).is_err());
        assert!(dk2.open_str(&ct, &field_aad("clients", "date_of_birth_ct", "c1")).is_err());
        // Wrapped key for another client: refused.
        assert!(pk.unwrap_data_key("c2", &wrapped).is_err());
        // Another practice key: refused.
        assert!(PracticeKey::generate().unwrap_data_key("c1", &wrapped).is_err());
    }

    #[test]
    fn tampered_or_truncated_ciphertext_is_refused() {
        let pk = PracticeKey::generate();
        let (dk, _) = pk.new_data_key("c1").unwrap();
        let aad = field_aad("t", "c", "r");
        let mut ct = dk.seal_str("x", &aad).unwrap();
        if let Some(last) = ct.last_mut() {
            *last ^= 1;
        }
        assert!(dk.open_str(&ct, &aad).is_err());
        assert!(dk.open_str(&[], &aad).is_err());
        assert!(dk.open_str(&[1, 2, 3], &aad).is_err());
    }

    #[test]
    fn search_tokens_depend_on_practice_and_key() {
        let pk = PracticeKey::from_bytes([1; 32]);
        assert_eq!(pk.search_token("p1", "mar"), pk.search_token("p1", "mar"));
        assert_ne!(pk.search_token("p1", "mar"), pk.search_token("p2", "mar"));
        assert_ne!(pk.search_token("p1", "mar"), PracticeKey::from_bytes([2; 32]).search_token("p1", "mar"));
    }

    #[test]
    fn key_file_is_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let k = PracticeKey::create_file(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE_NAME)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(PracticeKey::create_file(dir.path()).is_err());
        let loaded = PracticeKey::load(dir.path()).unwrap();
        assert_eq!(k.search_token("p", "t"), loaded.search_token("p", "t"));
    }
}
