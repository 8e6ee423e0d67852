//! Who the client is, for per-address rate limits: the peer's address, or, when the peer is a
//! configured proxy ([`TrustedProxies`], `trusted_proxies` in the configuration), the address
//! it says it forwards for in `X-Forwarded-For`. Nothing is trusted by default: an address
//! being private or local says nothing about who set the header.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The client's address, in every HTTP request's data (for rate limits). `None` when the
/// server runs without connection info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// Walks `X-Forwarded-For` from the right while the address that handed the request on is
    /// a trusted proxy: the client is the first address that is not one (or the last one
    /// named, when every address is a trusted proxy). An entry that is not an address ends the
    /// walk at the proxy that sent it.
    pub(crate) fn of(
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
        trusted: &TrustedProxies,
    ) -> Self {
        let Some(mut client) = peer.map(|p| p.ip().to_canonical()) else {
            return ClientIp(None);
        };
        if !trusted.contains(client) {
            return ClientIp(Some(client));
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for entry in forwarded.iter().rev() {
            let Ok(address) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = address.to_canonical();
            if !trusted.contains(client) {
                break;
            }
        }
        ClientIp(Some(client))
    }
}

/// One address or network, `203.0.113.7` or `10.0.0.0/8` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32u32.saturating_sub(u32::from(self.prefix)))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128u32.saturating_sub(u32::from(self.prefix)))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (address, prefix) = match s.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (s, None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))?
            .to_canonical();
        let max: u8 = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a prefix length outside 0..={max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The proxies whose `X-Forwarded-For` is believed. Configured as a list of addresses and
/// networks, or one string of them separated by commas (`RI_TRUSTED_PROXIES=10.0.0.0/8,::1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(address))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl Serialize for TrustedProxies {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let joined = match Raw::deserialize(deserializer)? {
            Raw::One(s) => s,
            Raw::Many(parts) => parts.join(","),
        };
        joined.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 4000))
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() {
        let headers = forwarded("198.51.100.1, 203.0.113.7");
        let none = TrustedProxies::none();
        for p in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "::1",
            "fd00::1",
            "8.8.8.8",
        ] {
            assert_eq!(
                ClientIp::of(&headers, peer(p), &none),
                ClientIp(ip(p)),
                "{p}"
            );
        }
        assert_eq!(ClientIp::of(&headers, None, &none), ClientIp(None));
    }

    #[test]
    fn a_trusted_proxy_s_forwarded_address_is_the_client() {
        let trusted: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
        let headers = forwarded("198.51.100.1, 203.0.113.7");
        assert_eq!(
            ClientIp::of(&headers, peer("10.9.8.7"), &trusted),
            ClientIp(ip("203.0.113.7"))
        );
        // A chain of trusted proxies is walked through; the first untrusted address is the client.
        let chain = forwarded("198.51.100.1, 203.0.113.7, 10.0.0.5");
        assert_eq!(
            ClientIp::of(&chain, peer("127.0.0.1"), &trusted),
            ClientIp(ip("203.0.113.7"))
        );
        // An untrusted peer's header is ignored, even from a private address.
        assert_eq!(
            ClientIp::of(&headers, peer("192.168.1.1"), &trusted),
            ClientIp(ip("192.168.1.1"))
        );
        // Garbage ends the walk at the proxy that passed it on.
        let garbage = forwarded("nonsense");
        assert_eq!(
            ClientIp::of(&garbage, peer("10.0.0.1"), &trusted),
            ClientIp(ip("10.0.0.1"))
        );
        // No header: the proxy itself.
        assert_eq!(
            ClientIp::of(&HeaderMap::new(), peer("10.0.0.1"), &trusted),
            ClientIp(ip("10.0.0.1"))
        );
    }

    #[test]
    fn networks_parse_and_match() {
        let v4: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(v4.contains("192.168.255.1".parse().unwrap()));
        assert!(!v4.contains("192.169.0.1".parse().unwrap()));
        assert!(v4.contains("::ffff:192.168.1.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        assert!(!all.contains("::2".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fdab::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "localhost",
            "10.0.0.0/-1",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert_eq!(
            TrustedProxies::from_str("").unwrap(),
            TrustedProxies::none()
        );
    }

    #[test]
    fn configuration_takes_a_list_or_a_comma_separated_string() {
        let one: TrustedProxies = serde_json::from_str("\"10.0.0.0/8,::1\"").unwrap();
        let many: TrustedProxies = serde_json::from_str("[\"10.0.0.0/8\", \"::1\"]").unwrap();
        assert_eq!(one, many);
        assert!(one.contains("::1".parse().unwrap()));
        assert!(serde_json::from_str::<TrustedProxies>("\"10.0.0.0/99\"").is_err());
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            "[\"10.0.0.0/8\",\"::1/128\"]"
        );
    }
}
