//! Finding 2: demo mode marks the database it runs on, and production refuses a marked database
//! with a message saying how to start clean.

use crate::support::{backends, test_config, TestDb};
use seedport::clock::Clock;
use seedport::config::Mode;
use seedport::vault::MasterKey;

#[tokio::test(flavor = "multi_thread")]
async fn production_refuses_a_database_demo_mode_seeded() {
    for backend in backends() {
        let db = TestDb::new(backend);
        let master = MasterKey::generate();
        let clock = Clock::fixed(1_795_000_000);
        let demo = test_config(&db);
        seedport::app::build_state(demo.clone(), master.clone(), clock.clone()).unwrap();

        let mut production = demo.clone();
        production.mode = Mode::Production;
        let err = match seedport::app::build_state(production, master.clone(), clock.clone()) {
            Ok(_) => panic!("{backend:?}: production started on a demo database"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("demo mode has run on it"), "{err}");
        assert!(err.contains("new, empty database"), "{err}");

        // A clean database starts in production.
        let clean = TestDb::new(backend);
        let mut production = test_config(&clean);
        production.mode = Mode::Production;
        assert!(
            seedport::app::build_state(production, master, clock).is_ok(),
            "{backend:?}: a clean database is refused"
        );
    }
}
