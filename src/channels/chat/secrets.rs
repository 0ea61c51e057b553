//! Signing: the server secret (generated once, kept sealed in `server_secrets`, shared by every
//! node on the database), visitor tokens, attachment URL signatures and identity verification.

use crate::secrets::stored::CHAT_SIGNING_KEY;
use crate::secrets::SecretBox;
use crate::store::{now_ms, Store, StoreError, StoreResult};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signing key, created on first use and stored sealed with `secrets`. Concurrent first
/// uses on several nodes agree because the insert is `ON CONFLICT DO NOTHING` and everyone reads
/// the stored row afterwards. A stored key this node cannot open is an error, never replaced.
pub async fn load_or_create(store: &Store, secrets: &SecretBox) -> StoreResult<Vec<u8>> {
    let fresh: [u8; 32] = rand::random();
    let encoded = base64::engine::general_purpose::STANDARD.encode(fresh);
    let sealed = secrets.seal(&encoded).map_err(decode_error)?;
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(CHAT_SIGNING_KEY)
    .bind(&sealed)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let (value,): (String,) = sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1")
        .bind(CHAT_SIGNING_KEY)
        .fetch_one(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    let opened = secrets
        .open(&value)
        .map_err(|e| decode_error(e.context("the chat signing key cannot be read")))?;
    base64::engine::general_purpose::STANDARD
        .decode(opened)
        .map_err(|e| decode_error(e.into()))
}

fn decode_error(e: anyhow::Error) -> StoreError {
    StoreError::Other(sqlx::Error::Decode(e.into()))
}

fn mac(key: &[u8], parts: &[&str]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            m.update(b"\n");
        }
        m.update(p.as_bytes());
    }
    m
}

fn sign(key: &[u8], parts: &[&str]) -> String {
    hex::encode(mac(key, parts).finalize().into_bytes())
}

fn verify(key: &[u8], parts: &[&str], sig_hex: &str) -> bool {
    match hex::decode(sig_hex) {
        Ok(sig) => mac(key, parts).verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

/// A visitor token: `<visitor id>.<site id>.<hex HMAC>`. It is not an auth token: the agent API
/// never accepts it.
pub fn visitor_token(key: &[u8], visitor_id: &str, site_id: &str, valid_secs: u64) -> String {
    let exp = (now_ms() / 1000 + valid_secs as i64).to_string();
    let sig = sign(key, &["visitor", visitor_id, site_id, &exp]);
    format!("{visitor_id}.{site_id}.{exp}.{sig}")
}

/// The (visitor id, site id) a token was issued for, if its signature is valid and it has not
/// expired (every `welcome` issues a fresh one, so a visitor who comes back renews it).
pub fn parse_visitor_token(key: &[u8], token: &str) -> Option<(String, String)> {
    let mut it = token.trim().splitn(4, '.');
    let (visitor, site, exp, sig) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if visitor.is_empty() || site.is_empty() || !unexpired(exp) {
        return None;
    }
    verify(key, &["visitor", visitor, site, exp], sig)
        .then(|| (visitor.to_string(), site.to_string()))
}

fn unexpired(exp: &str) -> bool {
    exp.parse::<i64>().is_ok_and(|e| e >= now_ms() / 1000)
}

/// The signed, header-free URL of an attachment (relative to the server origin).
pub fn attachment_url(key: &[u8], id: &str, valid_secs: u64) -> String {
    let (exp, sig) = attachment_sig(key, id, valid_secs);
    format!("/api/v1/widget/attachments/{id}?exp={exp}&sig={sig}")
}

/// Expiry and signature that let `<img src>` fetch an attachment without headers for
/// `valid_secs`: `(exp, sig)`.
pub fn attachment_sig(key: &[u8], attachment_id: &str, valid_secs: u64) -> (String, String) {
    let exp = (now_ms() / 1000 + valid_secs as i64).to_string();
    let sig = sign(key, &["attachment", attachment_id, &exp]);
    (exp, sig)
}

/// Check an attachment URL's signature and expiry.
pub fn attachment_sig_ok(key: &[u8], attachment_id: &str, exp: &str, sig: &str) -> bool {
    unexpired(exp) && verify(key, &["attachment", attachment_id, exp], sig)
}

/// `hello.identity.hash` must be hex HMAC-SHA256(site identity secret, user_id).
pub fn identity_ok(secret: &str, user_id: &str, hash: &str) -> bool {
    let Ok(sig) = hex::decode(hash.trim()) else {
        return false;
    };
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(user_id.as_bytes());
    m.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visitor_tokens_round_trip_and_reject_tampering() {
        let key = b"k".repeat(32);
        let t = visitor_token(&key, "v1", "s1", 60);
        assert_eq!(
            parse_visitor_token(&key, &t),
            Some(("v1".into(), "s1".into()))
        );
        assert_eq!(parse_visitor_token(&key, &t.replace("v1", "v2")), None);
        assert_eq!(parse_visitor_token(b"other", &t), None);
        assert_eq!(parse_visitor_token(&key, "garbage"), None);
        // Expired, or its expiry moved without a new signature: refused.
        let old = format!("v1.s1.{}.{}", 1, sign(&key, &["visitor", "v1", "s1", "1"]));
        assert_eq!(parse_visitor_token(&key, &old), None);
        let exp = t.split('.').nth(2).unwrap();
        let later = (exp.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(parse_visitor_token(&key, &t.replace(exp, &later)), None);
        // The unexpiring format of earlier versions is no longer a login.
        let legacy = format!("v1.s1.{}", sign(&key, &["visitor", "v1", "s1"]));
        assert_eq!(parse_visitor_token(&key, &legacy), None);
    }

    #[test]
    fn attachment_urls_expire() {
        let key = b"k".repeat(32);
        let (exp, sig) = attachment_sig(&key, "a1", 60);
        assert!(attachment_sig_ok(&key, "a1", &exp, &sig));
        assert!(!attachment_sig_ok(&key, "a2", &exp, &sig));
        let past = sign(&key, &["attachment", "a1", "1"]);
        assert!(!attachment_sig_ok(&key, "a1", "1", &past));
    }

    #[test]
    fn identity_hash_is_hmac_of_the_user_id() {
        let mut m = HmacSha256::new_from_slice(b"secret").unwrap();
        m.update(b"42");
        let good = hex::encode(m.finalize().into_bytes());
        assert!(identity_ok("secret", "42", &good));
        assert!(!identity_ok("secret", "43", &good));
        assert!(!identity_ok("secret", "42", "zz"));
    }
}
