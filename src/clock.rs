//! Time as a parameter: production reads the system clock, tests move a fixed one.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Where "now" comes from. Code that decides expiry, timeouts or rate windows takes a `Clock`
/// instead of reading the system time, so tests can jump forward without sleeping.
#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    /// A test clock starting at `unix_seconds`.
    pub fn fixed(unix_seconds: i64) -> Clock {
        Clock::Fixed(Arc::new(AtomicI64::new(unix_seconds)))
    }

    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        match self {
            // The one read of the system clock (clippy.toml bans it everywhere else).
            #[allow(clippy::disallowed_methods)]
            Clock::System => time::OffsetDateTime::now_utc().unix_timestamp(),
            Clock::Fixed(t) => t.load(Ordering::SeqCst),
        }
    }

    /// Now as a UTC date and time.
    pub fn now_utc(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(self.now())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Now as a `SystemTime` (for libraries that take one).
    pub fn system_time(&self) -> std::time::SystemTime {
        let secs = u64::try_from(self.now()).unwrap_or(0);
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    /// Moves a fixed clock forward; no effect on the system clock.
    pub fn advance(&self, seconds: i64) {
        if let Clock::Fixed(t) = self {
            t.fetch_add(seconds, Ordering::SeqCst);
        }
    }
}

/// `2026-11-28 14:30 UTC`, the one way dates and times are shown to people.
pub fn format_utc(unix_seconds: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix_seconds) else {
        return unix_seconds.to_string();
    };
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&format)
        .unwrap_or_else(|_| unix_seconds.to_string())
}
