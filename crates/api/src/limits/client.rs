//! Who a request comes from, for the rate limits: the peer's address, unless the peer is a
//! trusted proxy (the edge, [`TrustedProxies`]); then the address that proxy appended to
//! `X-Forwarded-For`. Walking that header from the right, every hop a trusted proxy added is
//! skipped and the first other one is the client, so a client cannot choose its address by
//! sending the header itself: the edge appends, it does not replace.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::future::{ready, Ready};
use std::net::IpAddr;

/// The peers whose `X-Forwarded-For` is believed: addresses and CIDR blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Reads a comma-separated list such as `10.0.0.0/8, 192.168.1.7`; empty trusts nobody.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{item}` is neither an IP address nor a CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client of a request from `peer` that carried `forwarded` (the `X-Forwarded-For`
    /// values in order).
    pub fn client<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = forwarded.flat_map(|value| value.split(',')).collect();
        for hop in hops.into_iter().rev() {
            // Something that is no address (`unknown`, garbage) ends what can be believed.
            let Ok(address) = hop.trim().parse::<IpAddr>() else {
                break;
            };
            client = address.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The client's address as the rate limits count it: an IPv6 client by its /64 (one host
/// usually has a whole /64 to pick addresses from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(IpAddr);

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => {
                let network = IpNet::new(IpAddr::V6(v6), 64).expect("64 is a valid prefix");
                write!(f, "{}", network.trunc())
            }
        }
    }
}

impl FromRequest for ClientAddr {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req
            .app_data::<web::Data<AppState>>()
            .expect("the api's routes have its state");
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok());
        ready(
            req.peer_addr()
                .map(|peer| ClientAddr(state.trusted_proxies.client(peer.ip(), forwarded)))
                .ok_or_else(|| ApiError::Internal("the request has no peer address".into())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn client(trusted: &str, peer: &str, forwarded: &[&str]) -> IpAddr {
        TrustedProxies::parse(trusted)
            .unwrap()
            .client(ip(peer), forwarded.iter().copied())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client("", "203.0.113.9", &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client("10.0.0.0/8", "203.0.113.9", &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_by_the_hop_it_appended() {
        // The client sent its own header; the edge appended the real address.
        let forwarded = ["1.2.3.4, 198.51.100.7"];
        assert_eq!(
            client("10.0.0.0/8", "10.0.3.5", &forwarded),
            ip("198.51.100.7")
        );
        // Two proxies of ours: both are skipped.
        let forwarded = ["1.2.3.4, 198.51.100.7", "10.0.9.9"];
        assert_eq!(
            client("10.0.0.0/8", "10.0.3.5", &forwarded),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_without_a_usable_header_is_the_client() {
        assert_eq!(client("10.0.3.5", "10.0.3.5", &[]), ip("10.0.3.5"));
        assert_eq!(client("10.0.3.5", "10.0.3.5", &["unknown"]), ip("10.0.3.5"));
        assert_eq!(
            client("10.0.3.5", "10.0.3.5", &["garbage, 198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn mapped_ipv4_peers_are_matched_as_ipv4() {
        assert_eq!(
            client("127.0.0.1", "::ffff:127.0.0.1", &["198.51.100.7"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn the_list_names_what_it_cannot_read() {
        assert_eq!(
            TrustedProxies::parse(" ").unwrap(),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("10.0.0.0/8, ::1").is_ok());
        let error = TrustedProxies::parse("10.0.0.0/8, edge").unwrap_err();
        assert!(error.contains("`edge`"), "{error}");
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a = ClientAddr(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientAddr(ip("2001:db8:1:2:bbbb::9"));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(ClientAddr(ip("192.0.2.1")).to_string(), "192.0.2.1");
    }
}
