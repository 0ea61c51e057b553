//! Secrets at rest: mailbox passwords, the chat signing key and webhook secrets are stored
//! sealed with AES-256-GCM, `enc:v1:<base64(nonce ‖ ciphertext ‖ tag)>`, so a database dump
//! alone reveals none of them.
//!
//! The key comes from `security.secret_key` (base64 or hex of 32 bytes), else from the file
//! `security.secret_key_file`, else from `{data_dir}/secrets.key`, created on first start (mode
//! 0600; a data directory of an earlier version keeps its `email-secrets.key`). Every node on
//! one database needs the same key: in scale mode give each the same `security.secret_key`.
//! [`stored::seal_stored`] seals values earlier versions stored in clear and refuses to start a
//! node whose key cannot open what is stored.

pub mod stored;

use anyhow::{anyhow, Context};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Name of the key file created in the data directory when no key is configured.
pub const KEY_FILE: &str = "secrets.key";
/// The key file of earlier versions (mailbox passwords only); still used when present.
pub const LEGACY_KEY_FILE: &str = "email-secrets.key";
const PREFIX: &str = "enc:v1:";

/// `[security]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    /// The key sealing stored secrets: base64 (or hex) of 32 random bytes; empty: see
    /// `secret_key_file`.
    pub secret_key: SecretString,
    /// A file holding the key (base64 or hex); empty: `{data_dir}/secrets.key`, created once.
    pub secret_key_file: String,
}

/// Seals and opens stored secrets.
pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
    /// Where the key came from, for error messages.
    source: String,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox({})", self.source)
    }
}

impl SecretBox {
    /// The box of the configured key (see the module documentation).
    pub fn from_settings(security: &SecuritySettings, data_dir: &Path) -> anyhow::Result<Self> {
        let inline = security.secret_key.expose_secret().trim();
        if !inline.is_empty() {
            let key = parse_key(inline).context("security.secret_key")?;
            return Ok(Self::from_key(&key, "security.secret_key"));
        }
        let file = security.secret_key_file.trim();
        if !file.is_empty() {
            let key = read_key_file(Path::new(file))?;
            return Ok(Self::from_key(&key, &format!("the key file {file}")));
        }
        let legacy = data_dir.join(LEGACY_KEY_FILE);
        let path = if legacy.exists() {
            legacy
        } else {
            create_key_file(data_dir)?
        };
        let key = read_key_file(&path)?;
        Ok(Self::from_key(
            &key,
            &format!("the key file {}", path.display()),
        ))
    }

    /// The box of a raw key; `source` names it in error messages.
    pub fn from_key(key: &[u8; 32], source: &str) -> Self {
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("32 bytes is an AES-256 key");
        SecretBox {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
            source: source.to_string(),
        }
    }

    /// Whether a stored value is sealed (earlier versions stored some in clear).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
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

    /// Decrypt a stored value. Values stored in clear by earlier versions (or by an older node
    /// during a rolling upgrade) pass through unchanged.
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
                anyhow!(
                    "cannot decrypt a stored secret with this node's key ({}): it was sealed \
                     with another key. Every node on one database needs the same key: set \
                     security.secret_key (SWITCHBOARD__SECURITY__SECRET_KEY) to the same value \
                     on each",
                    self.source
                )
            })?;
        String::from_utf8(plain.to_vec()).context("decrypted secret is not UTF-8")
    }
}

/// A key written as 64 hex digits or as base64 of 32 bytes.
pub fn parse_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text)?
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text))
            .map_err(|_| anyhow!("the key must be base64 (or hex) of 32 bytes"))?
    };
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow!("the key must be 32 bytes, not {}", b.len()))
}

fn read_key_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_key(&text).with_context(|| format!("the key file {}", path.display()))
}

/// `{dir}/secrets.key`, created with a random key unless it exists.
fn create_key_file(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(KEY_FILE);
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| anyhow!("no randomness"))?;
    // Write a temp file, then link it into place: concurrent creators agree on one key.
    let tmp = dir.join(format!("{KEY_FILE}.{}", uuid::Uuid::new_v4().simple()));
    write_private(&tmp, STANDARD.encode(key).as_bytes())?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    if let Err(e) = linked {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(e).with_context(|| format!("creating {}", path.display()));
        }
    }
    Ok(path)
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

    fn settings(key: &str, file: &str) -> SecuritySettings {
        SecuritySettings {
            secret_key: key.to_string().into(),
            secret_key_file: file.into(),
        }
    }

    #[test]
    fn sealed_values_open_again_and_differ_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let b = SecretBox::from_settings(&settings("", ""), dir.path()).unwrap();
        let a1 = b.seal("رمز ۱۲۳").unwrap();
        let a2 = b.seal("رمز ۱۲۳").unwrap();
        assert_ne!(a1, a2);
        assert!(!a1.contains("۱۲۳") && SecretBox::is_sealed(&a1));
        assert_eq!(b.open(&a1).unwrap(), "رمز ۱۲۳");
        assert_eq!(b.open("legacy").unwrap(), "legacy");
        let mut broken = a1.clone();
        broken.pop();
        broken.push(if a1.ends_with('A') { 'B' } else { 'A' });
        assert!(b.open(&broken).is_err());
        let other = tempfile::tempdir().unwrap();
        let c = SecretBox::from_settings(&settings("", ""), other.path()).unwrap();
        let err = c.open(&a1).unwrap_err().to_string();
        assert!(err.contains("security.secret_key"), "{err}");
        // The created file is private and gives the same key again.
        let again = SecretBox::from_settings(&settings("", ""), dir.path()).unwrap();
        assert_eq!(again.open(&a1).unwrap(), "رمز ۱۲۳");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_data_dir_of_an_earlier_version_keeps_its_key_and_a_configured_key_wins() {
        let dir = tempfile::tempdir().unwrap();
        let key = [7u8; 32];
        // Earlier versions wrote the key as hex in email-secrets.key.
        std::fs::write(dir.path().join(LEGACY_KEY_FILE), hex::encode(key)).unwrap();
        let sealed = SecretBox::from_key(&key, "test").seal("old").unwrap();
        let legacy = SecretBox::from_settings(&settings("", ""), dir.path()).unwrap();
        assert_eq!(legacy.open(&sealed).unwrap(), "old");
        assert!(!dir.path().join(KEY_FILE).exists());
        let inline = SecretBox::from_settings(&settings(&STANDARD.encode(key), ""), dir.path());
        assert_eq!(inline.unwrap().open(&sealed).unwrap(), "old");
        let file = dir.path().join("elsewhere.key");
        std::fs::write(&file, format!("{}\n", STANDARD.encode(key))).unwrap();
        let from_file =
            SecretBox::from_settings(&settings("", file.to_str().unwrap()), dir.path()).unwrap();
        assert_eq!(from_file.open(&sealed).unwrap(), "old");
        let other = SecretBox::from_settings(&settings(&hex::encode([8u8; 32]), ""), dir.path());
        assert!(other.unwrap().open(&sealed).is_err());
    }

    #[test]
    fn a_malformed_key_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["short", "AAAA", &hex::encode([1u8; 16])] {
            let err = SecretBox::from_settings(&settings(bad, ""), dir.path()).unwrap_err();
            assert!(
                format!("{err:#}").contains("security.secret_key"),
                "{err:#}"
            );
        }
        let missing = SecretBox::from_settings(&settings("", "/nonexistent/key"), dir.path());
        assert!(format!("{:#}", missing.unwrap_err()).contains("/nonexistent/key"));
    }
}
