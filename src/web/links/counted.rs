//! A download body that only spends the customer's download when its last byte went out: a
//! stream cut short (client gone, shutdown past the grace period, a chunk that failed) gives
//! the counted download back. Also the count of downloads in flight, which shutdown waits for.

use crate::clock::Clock;
use crate::db::Db;
use crate::delivery::{links, DeliveryError};
use actix_web::web::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Downloads between their grant and their end (last byte, or the give-back recorded).
#[derive(Clone, Default)]
pub struct InFlight(Arc<(Mutex<usize>, Condvar)>);

impl InFlight {
    fn enter(&self) {
        let (count, _) = &*self.0;
        if let Ok(mut n) = count.lock() {
            *n += 1;
        }
    }

    fn leave(&self) {
        let (count, idle) = &*self.0;
        if let Ok(mut n) = count.lock() {
            *n = n.saturating_sub(1);
            idle.notify_all();
        }
    }

    /// How many downloads are in flight now.
    pub fn count(&self) -> usize {
        self.0 .0.lock().map(|n| *n).unwrap_or(0)
    }

    /// Blocks until no download is in flight or `limit` has passed; true when idle.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        let (count, idle) = &*self.0;
        let deadline = Instant::now() + limit;
        let Ok(mut n) = count.lock() else {
            return false;
        };
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match idle.wait_timeout(n, left) {
                Ok((guard, _)) => n = guard,
                Err(_) => return false,
            }
        }
        true
    }
}

/// What the give-back needs.
pub struct Spend {
    pub db: Db,
    pub clock: Clock,
    pub package_id: String,
    /// The spend's id: a spend taken over by a second press is not given back.
    pub spend: String,
    pub client_ip: String,
    pub size: u64,
}

/// Wraps the chunk stream of a granted download.
pub struct CountedBody<S> {
    inner: S,
    spend: Option<Spend>,
    in_flight: InFlight,
    sent: u64,
    failed: bool,
}

impl<S> CountedBody<S> {
    /// `spend` is `None` for a file served again to a second press: nothing to give back.
    pub fn new(inner: S, spend: Option<Spend>, in_flight: InFlight) -> CountedBody<S> {
        in_flight.enter();
        CountedBody {
            inner,
            spend,
            in_flight,
            sent: 0,
            failed: false,
        }
    }
}

impl<S> Stream for CountedBody<S>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Unpin,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(bytes))) => self.sent += bytes.len() as u64,
            Poll::Ready(Some(Err(_))) => self.failed = true,
            Poll::Ready(None) | Poll::Pending => {}
        }
        polled
    }
}

impl<S> Drop for CountedBody<S> {
    fn drop(&mut self) {
        let Some(spend) = self.spend.take() else {
            self.in_flight.leave();
            return;
        };
        // Every byte handed to the connection counts as delivered, even before the final poll.
        let complete = !self.failed && self.sent == spend.size;
        if complete {
            self.in_flight.leave();
            return;
        }
        // Dropped mid-stream: possibly on a worker whose runtime is shutting down, so the
        // give-back runs on a thread of its own and shutdown waits for it through `in_flight`.
        let (in_flight, sent) = (self.in_flight.clone(), self.sent);
        let spawned = std::thread::Builder::new()
            .name("download-give-back".into())
            .spawn(move || {
                give_back(&spend, sent);
                in_flight.leave();
            });
        if spawned.is_err() {
            tracing::error!("could not start the download give-back");
            self.in_flight.leave();
        }
    }
}

/// Gives the download back, retrying for a few seconds when the database is away (shutdown
/// waits for this through `in_flight`).
fn give_back(spend: &Spend, sent: u64) {
    let mut last = None;
    for attempt in 0..8 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        let result = spend
            .db
            .get()
            .map_err(DeliveryError::from)
            .and_then(|mut conn| {
                links::give_back_download(
                    &mut conn,
                    &spend.package_id,
                    &spend.spend,
                    sent,
                    spend.size,
                    &spend.client_ip,
                    spend.clock.now(),
                )
            });
        match result {
            Ok(_) => {
                tracing::info!(
                    package = %spend.package_id,
                    sent,
                    size = spend.size,
                    "a download was cut short; it was not counted"
                );
                return;
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        tracing::error!(package = %spend.package_id, error = %e, "a download was cut short and giving it back failed");
    }
}
