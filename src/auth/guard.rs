//! What stands between the internet and the login route: the client's real address (behind
//! trusted proxies only), attempt limits per address and per (address, account) pair — so a
//! stranger cannot lock an account's owner out — and a bound on concurrent password hashing,
//! whose memory (19 MiB per argon2 hash) an attacker would otherwise control.

use crate::error::{ApiError, ApiResult};
use crate::limits::KeyedLimiter;
use crate::settings::AuthSettings;
use axum::http::HeaderMap;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Known-good (address, account) pairs remembered per node before the list starts afresh.
const MAX_GOOD_PAIRS: usize = 100_000;

/// Login protections of one node.
pub struct LoginGuard {
    per_ip: KeyedLimiter,
    per_pair: KeyedLimiter,
    /// Pairs that have logged in successfully: their correct password always gets through.
    good: Mutex<HashSet<String>>,
    hashing: Semaphore,
    hash_wait: Duration,
    /// The threads password checks run on (as many as may hash at once).
    pub hashers: super::hash_pool::HashPool,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("non-zero"))
}

impl LoginGuard {
    pub fn new(s: &AuthSettings) -> Self {
        LoginGuard {
            per_ip: RateLimiter::keyed(quota(s.login_attempts_per_minute_per_ip)),
            per_pair: RateLimiter::keyed(quota(s.login_attempts_per_minute)),
            good: Mutex::default(),
            hashing: Semaphore::new(s.max_concurrent_hashes.max(1)),
            hash_wait: Duration::from_millis(s.hash_wait_ms),
            hashers: super::hash_pool::HashPool::new(s.max_concurrent_hashes.max(1)),
        }
    }

    fn pair(ip: IpAddr, email: &str) -> String {
        format!("{ip}|{email}")
    }

    /// Whether this address has logged in to this account before (on this node).
    pub fn known_good(&self, ip: IpAddr, email: &str) -> bool {
        let good = self.good.lock().expect("login guard lock");
        good.contains(&Self::pair(ip, email))
    }

    /// Count one attempt; `429` when the address or the (address, account) pair is over its
    /// limit — unless the pair has logged in before (its owner is let through to the
    /// password check; a wrong password still fails).
    pub fn admit(&self, ip: IpAddr, email: &str) -> ApiResult<()> {
        if self.per_ip.len() + self.per_pair.len() > 20_000 {
            // Forget keys whose quota has fully replenished, so guessing many emails or
            // addresses cannot grow the limiters without bound.
            self.per_ip.retain_recent();
            self.per_pair.retain_recent();
        }
        let pair = Self::pair(ip, email);
        let over = self.per_ip.check_key(&ip.to_string()).is_err()
            | self.per_pair.check_key(&pair).is_err();
        if over && !self.known_good(ip, email) {
            metrics::counter!("switchboard_login_rate_limited_total").increment(1);
            return Err(ApiError::RateLimited);
        }
        Ok(())
    }

    /// Remember a successful login from this address.
    pub fn succeeded(&self, ip: IpAddr, email: &str) {
        let mut good = self.good.lock().expect("login guard lock");
        if good.len() >= MAX_GOOD_PAIRS {
            good.clear();
        }
        good.insert(Self::pair(ip, email));
    }

    /// A slot for one password hash; waits briefly, then `429` when all are busy.
    pub async fn hashing_slot(&self) -> ApiResult<SemaphorePermit<'_>> {
        match tokio::time::timeout(self.hash_wait, self.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                metrics::counter!("switchboard_login_hashing_refused_total").increment(1);
                Err(ApiError::RateLimited)
            }
        }
    }
}

/// Trusted reverse proxies (from `server.trusted_proxies`): addresses or CIDR ranges.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn parse(items: &[String]) -> anyhow::Result<Self> {
        let nets = items
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| anyhow::anyhow!("server.trusted_proxies: bad address {s:?}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(TrustedProxies(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer itself, or — when the peer is a trusted proxy — the
    /// nearest untrusted address in `X-Forwarded-For` (else `Forwarded: for=`).
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_for(headers);
        chain
            .iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(chain.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// Addresses named by `X-Forwarded-For` (or, without it, `Forwarded`), client first.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let xff: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.eq_ignore_ascii_case("for").then(|| forwarded_node(v))?
        })
        .collect()
}

/// `for=` value of RFC 7239: `1.2.3.4`, `"1.2.3.4:80"`, `"[2001:db8::1]:80"`.
fn forwarded_node(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.parse()
        .ok()
        .or_else(|| v.rsplit_once(':').and_then(|(h, _)| h.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_addresses_count_only_when_the_peer_is_a_trusted_proxy() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.1.2.3")]);
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        assert_eq!(
            t.client_ip(proxy, &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(t.client_ip(stranger, &h), stranger.ip());
        let f = headers(&[("forwarded", "for=\"[2001:db8::1]:443\";proto=https")]);
        assert_eq!(
            t.client_ip(proxy, &f),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(t.client_ip(proxy, &HeaderMap::new()), proxy.ip());
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(proxy, &h), proxy.ip());
    }
}
