//! Mailbox passwords at rest: AES-256-GCM with a random key kept in
//! `{data_dir}/email-secrets.key` (created on first use, mode 0600). Stored values look like
//! `enc:v1:<base64(nonce ‖ ciphertext ‖ tag)>`; a database dump alone reveals no password.
//! Every node sharing a database needs the same key file.

use anyhow::{anyhow, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Name of the key file inside the data directory.
pub const KEY_FILE: &str = "email-secrets.key";
const PREFIX: &str = "enc:v1:";

/// Seals and opens mailbox passwords.
pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl SecretBox {
    /// The box for `data_dir`, loading or creating its key (cached per directory).
    pub fn for_dir(data_dir: &Path) -> anyhow::Result<Arc<SecretBox>> {
        static BOXES: OnceLock<Mutex<HashMap<PathBuf, Arc<SecretBox>>>> = OnceLock::new();
        let mut boxes = BOXES
            .get_or_init(Default::default)
            .lock()
            .map_err(|_| anyhow!("secret box cache poisoned"))?;
        if let Some(b) = boxes.get(data_dir) {
            return Ok(b.clone());
        }
        let key = load_or_create_key(data_dir)?;
        let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| anyhow!("bad key length"))?;
        let b = Arc::new(SecretBox {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        });
        boxes.insert(data_dir.to_path_buf(), b.clone());
        Ok(b)
    }

    /// Encrypt `plain` for storage.
    pub fn seal(&self, plain: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| anyhow!("no randomness"))?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Decrypt a stored value (values stored before encryption pass through unchanged).
    pub fn open(&self, stored: &str) -> anyhow::Result<String> {
        let Some(b64) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = STANDARD
            .decode(b64)
            .context("stored secret is not base64")?;
        if bytes.len() < NONCE_LEN {
            return Err(anyhow!("stored secret is truncated"));
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow!("bad nonce"))?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| {
                anyhow!("cannot decrypt the stored password: this node's {KEY_FILE} differs from the one that stored it")
            })?;
        String::from_utf8(plain.to_vec()).context("decrypted secret is not UTF-8")
    }
}

fn load_or_create_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(KEY_FILE);
    if !path.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| anyhow!("no randomness"))?;
        // Write a temp file, then link it into place: concurrent creators agree on one key.
        let tmp = dir.join(format!("{KEY_FILE}.{}", uuid::Uuid::new_v4().simple()));
        write_private(&tmp, hex::encode(key).as_bytes())?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        if let Err(e) = linked {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(e).with_context(|| format!("creating {}", path.display()));
            }
        }
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let key = hex::decode(text.trim()).context("the email key file is not hex")?;
    if key.len() != 32 {
        return Err(anyhow!("the email key file must hold 32 bytes"));
    }
    Ok(key)
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_passwords_open_again_and_differ_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::for_dir(dir.path()).unwrap();
        let a1 = b.seal("رمز ۱۲۳").unwrap();
        let a2 = b.seal("رمز ۱۲۳").unwrap();
        assert_ne!(a1, a2);
        assert!(!a1.contains("۱۲۳"));
        assert_eq!(b.open(&a1).unwrap(), "رمز ۱۲۳");
        assert_eq!(b.open("legacy").unwrap(), "legacy");
        let mut broken = a1.clone();
        broken.pop();
        broken.push(if a1.ends_with('A') { 'B' } else { 'A' });
        assert!(b.open(&broken).is_err());
        let other = tempfile::tempdir().unwrap();
        let c = SecretBox::for_dir(other.path()).unwrap();
        assert!(c.open(&a1).is_err(), "another key cannot open it");
    }
}
