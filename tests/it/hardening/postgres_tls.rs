//! Finding 11: production warns about a PostgreSQL connection that is neither verified TLS nor
//! local; the test databases (loopback) and SQLite get no warning.

use crate::support::{backends, TestDb};
use seedport::db::tls::postgres_tls_warning;

#[test]
fn only_unverified_remote_postgres_is_warned_about() {
    for backend in backends() {
        let db = TestDb::new(backend);
        assert_eq!(
            postgres_tls_warning(&db.url),
            None,
            "{backend:?}: {}",
            db.url
        );
        let remote = db.url.replace("127.0.0.1", "db.example.com");
        if remote.starts_with("postgres") {
            let warning = postgres_tls_warning(&remote).expect("remote without TLS is warned");
            assert!(warning.contains("sslmode=verify-full"), "{warning}");
            let verified = format!("{remote}?sslmode=verify-full");
            assert_eq!(postgres_tls_warning(&verified), None);
        }
    }
}
