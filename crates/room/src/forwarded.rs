//! Who sent a request when the server sits behind a reverse proxy (it
//! speaks no TLS itself, so in public it usually does): the address a
//! trusted proxy reports in `Forwarded` (RFC 7239) or `X-Forwarded-For`.
//! Only proxies listed with `--trusted-proxy` are believed; anyone else's
//! headers are ignored, since a client can write whatever it likes there.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The client of a request that arrived from `peer`: the nearest address
/// in the forwarding chain that is not a trusted proxy, when `peer` is one;
/// otherwise `peer` itself.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let chain = forwarded_for(headers).unwrap_or_default();
    chain
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .unwrap_or(peer)
}

/// The `for=` addresses of `Forwarded`, else those of `X-Forwarded-For`,
/// nearest client first; `None` when neither header is there or an entry
/// is not an address (a proxy that writes nonsense is not believed).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let joined = |name: &str| {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(","))
    };
    if let Some(forwarded) = joined("forwarded") {
        return forwarded
            .split(',')
            .map(|element| {
                let value = element
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.eq_ignore_ascii_case("for").then_some(value)
                    })?
                    .trim_matches('"');
                parse_node(value)
            })
            .collect();
    }
    joined("x-forwarded-for")?
        .split(',')
        .map(|entry| parse_node(entry.trim()))
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse() {
        return Some(address);
    }
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split_once(']')?.0.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: &str = "10.0.0.5";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn client(peer: &str, pairs: &[(&'static str, &str)]) -> String {
        let trusted = [PROXY.parse().unwrap(), "10.0.0.6".parse().unwrap()];
        client_address(peer.parse().unwrap(), &headers(pairs), &trusted).to_string()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let forged = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(client("198.51.100.7", &forged), "198.51.100.7");
        assert_eq!(client(PROXY, &forged), "203.0.113.9");
        assert_eq!(client(PROXY, &[]), PROXY, "no header: the proxy itself");
    }

    #[test]
    fn the_nearest_untrusted_address_is_the_client() {
        // A client forging an entry before its own: the proxies appended the real one.
        let chain = [("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.6")];
        assert_eq!(client(PROXY, &chain), "203.0.113.9");
        let split = [
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.9"),
        ];
        assert_eq!(client(PROXY, &split), "203.0.113.9");
    }

    #[test]
    fn forwarded_is_read_with_ports_and_brackets() {
        let rfc = [(
            "forwarded",
            r#"for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711""#,
        )];
        assert_eq!(client(PROXY, &rfc), "2001:db8:cafe::17");
        let ported = [("forwarded", "for=192.0.2.60:5000")];
        assert_eq!(client(PROXY, &ported), "192.0.2.60");
        // An obfuscated or unknown node: the chain is not believed.
        let hidden = [("forwarded", "for=unknown")];
        assert_eq!(client(PROXY, &hidden), PROXY);
    }
}
