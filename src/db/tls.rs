//! Whether a PostgreSQL URL protects the connection: production warns unless it verifies the
//! server (`sslmode=verify-full`) or never leaves the machine (a Unix socket or loopback).

/// The warning production logs for `url`, or `None` when the connection is protected (or the
/// database is not PostgreSQL).
pub fn postgres_tls_warning(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    if param("sslmode") == Some("verify-full") {
        return None;
    }
    let authority = main.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let host = param("host").unwrap_or(host);
    let local = host.is_empty()
        || host.starts_with('/')
        || host.starts_with("%2F")
        || host.starts_with("%2f")
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local {
        return None;
    }
    Some(format!(
        "the PostgreSQL connection to {host} is not verified: add sslmode=verify-full to \
         database_url (with the server's CA in ~/.postgresql/root.crt or sslrootcert=…), or \
         connect over a Unix socket or loopback; otherwise seeds and keys can be read or changed \
         on the network"
    ))
}

#[cfg(test)]
mod tests {
    use super::postgres_tls_warning as w;

    #[test]
    fn only_verified_or_local_connections_pass() {
        assert!(w("postgres://u:p@db.example.com/seedport").is_some());
        assert!(w("postgres://u@db.example.com:5432/s?sslmode=require").is_some());
        assert!(w("postgres://u@10.0.0.5/s?sslmode=verify-ca").is_some());
        assert!(w("postgres://u@db.example.com/s?sslmode=verify-full").is_none());
        assert!(w("postgres://u@db.example.com/s?connect_timeout=5&sslmode=verify-full").is_none());
        assert!(w("postgres://postgres@127.0.0.1:5432/postgres").is_none());
        assert!(w("postgresql://u@localhost/s").is_none());
        assert!(w("postgres://u@[::1]:5432/s").is_none());
        assert!(w("postgres:///seedport").is_none());
        assert!(w("postgres://u@%2Fvar%2Frun%2Fpostgresql/s").is_none());
        assert!(w("postgres://u@/s?host=/var/run/postgresql").is_none());
        assert!(w("sqlite://var/seedport.db").is_none());
        let text = w("postgres://u:secret@db.example.com/s").unwrap();
        assert!(!text.contains("secret"), "{text}");
    }
}
