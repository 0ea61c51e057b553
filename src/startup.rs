//! What the start-up log tells the person who has just started the server: where the console
//! is, and what is still missing before a customer's chat reaches an agent.

use crate::state::AppState;
use crate::store::StoreError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The address a browser on this machine opens for `addr` (a wildcard bind becomes loopback).
pub fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// `word` as one shell word (single-quoted when it holds anything but plain characters).
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:+@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The start-up lines: the console's address, then one line per missing first step.
/// `command` is how this binary was started (its path, and `--config FILE` if one was given).
pub async fn hints(
    state: &AppState,
    addr: SocketAddr,
    command: &[String],
) -> Result<Vec<String>, StoreError> {
    let base = base_url(addr);
    let mut out = vec![format!("console: {base}/console/")];
    let counts = Counts::load(state).await?;
    if counts.admins == 0 {
        let cmd: Vec<String> = command.iter().map(|w| shell_word(w)).collect();
        out.push(format!(
            "no admin exists yet; create one (the password, at least 8 characters, is read \
             from standard input): printf '%s' 'a long password' | {} agents create --role admin \
             --email admin@example.com --name Admin --password-stdin",
            cmd.join(" ")
        ));
    }
    if counts.available == 0 {
        out.push(
            "no agent is available: the chat widget shows \"offline\" and nothing is offered \
             until an agent sets their presence to available (the console's top bar, or \
             PUT /api/v1/agents/me/presence {\"status\":\"available\"})"
                .to_string(),
        );
    }
    if counts.sites == 0 {
        out.push(format!(
            "no chat site yet: an admin creates one (console, or POST /api/v1/channels/chat/sites \
             {{\"name\":\"Shop\",\"allowed_origins\":[\"{base}\"]}}); its site_key goes in the \
             widget tag, and {base}/widget/test?site=SITE_KEY is a page to try it"
        ));
    }
    Ok(out)
}

struct Counts {
    admins: i64,
    available: i64,
    sites: i64,
}

impl Counts {
    async fn load(state: &AppState) -> Result<Self, StoreError> {
        let (admins, available, sites): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM agents WHERE active = 1 AND role = 'admin'), \
               (SELECT COUNT(*) FROM agents WHERE active = 1 AND presence = 'available'), \
               (SELECT COUNT(*) FROM chat_sites)",
        )
        .fetch_one(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(Counts {
            admins,
            available,
            sites,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_bind_is_shown_as_loopback() {
        assert_eq!(
            base_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(base_url("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(
            base_url("10.0.0.2:9000".parse().unwrap()),
            "http://10.0.0.2:9000"
        );
    }

    #[test]
    fn command_words_with_spaces_are_quoted_for_the_shell() {
        assert_eq!(
            shell_word("./target/release/switchboard"),
            "./target/release/switchboard"
        );
        assert_eq!(shell_word("/opt/my app/sb"), "'/opt/my app/sb'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
