//! Where webhooks may be sent: public addresses only, unless `webhooks.allow_private_targets`
//! is set. Otherwise an admin (or a stolen admin token) could point a webhook at the cloud
//! metadata service, the database or anything else on the server's own network (SSRF).
//!
//! Checked twice: when a webhook is saved (an IP literal or `localhost` is refused at once)
//! and at every delivery, through a DNS resolver that drops private addresses, so a public
//! name that later resolves inward (DNS rebinding) is refused too.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// True for an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, where cloud metadata services live
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64/10, carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // 192.0.0/24, protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15, benchmarking
        || a >= 240) // reserved
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (first & 0xffc0) == 0xfe80 // fe80::/10, link local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and similar
}

/// Why `url` may not be a webhook target (saved with these rules), if it may not.
pub fn refuse(url: &reqwest::Url) -> Option<&'static str> {
    let host = url.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return (!is_public(ip)).then_some("a private or local address");
    }
    let d = host.trim_end_matches('.').to_ascii_lowercase();
    (d == "localhost" || d.ends_with(".localhost")).then_some("a local host name")
}

/// A resolver that only ever hands reqwest public addresses.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to private addresses (refused)").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_naming_local_places_are_refused() {
        for u in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "https://localhost/",
            "https://api.localhost./x",
            "http://10.0.0.5/",
        ] {
            assert!(refuse(&u.parse().unwrap()).is_some(), "{u}");
        }
        assert!(refuse(&"https://hooks.example.com/x".parse().unwrap()).is_none());
    }

    #[tokio::test]
    async fn the_resolver_drops_private_answers() {
        let name: Name = "localhost".parse().unwrap();
        let err = match PublicOnly.resolve(name).await {
            Ok(_) => panic!("localhost must not resolve"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("private"), "{err}");
    }
}
