//! The states a request and its packages move through, and the events that move them: the one
//! table of allowed transitions, stored as CHECK-constrained text in both databases.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::Serialize;

/// Where a request or a package is in its life. A package and its request use the same
/// states; how a request's state follows its packages' is [`State::of_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum State {
    /// Submitted; the delivery team has not decided. The file is built and held.
    PendingReview,
    /// Approved; the download email is queued but not yet accepted by the mail relay.
    Approved,
    /// The download email was handed to the mail relay.
    Emailed,
    /// Downloaded at least once; downloads may remain.
    Downloaded,
    /// The customer confirmed receipt; the file is destroyed.
    Confirmed,
    /// The delivery team rejected the request; the file is destroyed.
    Rejected,
    /// The delivery team cancelled a released package; the file is destroyed.
    Cancelled,
    /// Nobody reviewed it in time, or its links ran out; the file is destroyed by the sweeper.
    Expired,
    /// Too many wrong download passwords; the file is held until its expiry.
    Locked,
    /// The download email could not be delivered after every retry.
    FailedDelivery,
}

impl State {
    /// Every state, in the order the console lists them.
    pub const ALL: [State; 10] = [
        State::PendingReview,
        State::Approved,
        State::Emailed,
        State::Downloaded,
        State::Confirmed,
        State::Rejected,
        State::Cancelled,
        State::Expired,
        State::Locked,
        State::FailedDelivery,
    ];

    /// The stored text (also the console's filter value).
    pub fn as_str(self) -> &'static str {
        match self {
            State::PendingReview => "pending_review",
            State::Approved => "approved",
            State::Emailed => "emailed",
            State::Downloaded => "downloaded",
            State::Confirmed => "confirmed",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
            State::Locked => "locked",
            State::FailedDelivery => "failed_delivery",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// The state in words, for people.
    pub fn label(self) -> &'static str {
        match self {
            State::PendingReview => "waiting for review",
            State::Approved => "approved, email queued",
            State::Emailed => "emailed",
            State::Downloaded => "downloaded",
            State::Confirmed => "confirmed",
            State::Rejected => "rejected",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
            State::Locked => "locked",
            State::FailedDelivery => "email failed",
        }
    }

    /// A state the customer can still act in, so the download password is still needed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            State::PendingReview
                | State::Approved
                | State::Emailed
                | State::Downloaded
                | State::FailedDelivery
        )
    }

    /// A state whose file must be destroyed (the sweeper retries until it is).
    pub fn destroys_file(self) -> bool {
        matches!(
            self,
            State::Confirmed | State::Rejected | State::Cancelled | State::Expired
        )
    }

    /// A request's state from its packages' states: the first rule that matches wins.
    /// 1. any package waiting for review: `pending_review`; any rejected: `rejected`;
    /// 2. any package needing the delivery team: `failed_delivery`, then `locked`;
    /// 3. any package still in progress: the least advanced of `approved`, `emailed`,
    ///    `downloaded` (the request is as far along as its slowest file);
    /// 4. every package finished: `expired` if any expired, `confirmed` if any was confirmed,
    ///    else `cancelled`.
    ///
    /// A request without packages keeps `current`.
    pub fn of_request(current: State, packages: &[State]) -> State {
        let any = |s: State| packages.contains(&s);
        if packages.is_empty() {
            return current;
        }
        let order = [
            State::PendingReview,
            State::Rejected,
            State::FailedDelivery,
            State::Locked,
            State::Approved,
            State::Emailed,
            State::Downloaded,
            State::Expired,
            State::Confirmed,
        ];
        order
            .into_iter()
            .find(|s| any(*s))
            .unwrap_or(State::Cancelled)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<DB> ToSql<Text, DB> for State
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

impl<DB> FromSql<Text, DB> for State
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        State::parse(&text).ok_or_else(|| format!("unknown lifecycle state {text:?}").into())
    }
}

/// Something that moves a package (and, through it, its request) to another state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Approve,
    Reject,
    EmailSent,
    EmailFailed,
    Download,
    Confirm,
    Lock,
    Expire,
    Cancel,
    /// The delivery team sends a new download email (new links; the old ones stop working).
    Resend,
    /// The delivery team issues new links for an expired or locked package whose file is held.
    Reissue,
}

use State::*;

impl Event {
    /// The states this event may leave: the `WHERE state IN (…)` of its UPDATE.
    pub fn leaves(self) -> &'static [State] {
        match self {
            Event::Approve | Event::Reject => &[PendingReview],
            Event::EmailSent | Event::EmailFailed => &[Approved],
            Event::Download => &[Approved, Emailed, Downloaded, FailedDelivery],
            Event::Confirm => &[Approved, Emailed, Downloaded, Locked, FailedDelivery],
            Event::Lock => &[Approved, Emailed, Downloaded, FailedDelivery],
            Event::Expire => &[
                PendingReview,
                Approved,
                Emailed,
                Downloaded,
                Locked,
                FailedDelivery,
            ],
            Event::Cancel => &[Approved, Emailed, Downloaded, Locked, FailedDelivery],
            Event::Resend => &[Approved, Emailed, Downloaded, FailedDelivery],
            Event::Reissue => &[Expired, Locked],
        }
    }

    /// The state it enters.
    pub fn enters(self) -> State {
        match self {
            Event::Approve | Event::Resend | Event::Reissue => Approved,
            Event::Reject => Rejected,
            Event::EmailSent => Emailed,
            Event::EmailFailed => FailedDelivery,
            Event::Download => Downloaded,
            Event::Confirm => Confirmed,
            Event::Lock => Locked,
            Event::Expire => Expired,
            Event::Cancel => Cancelled,
        }
    }

    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Event::Approve => "approve",
            Event::Reject => "reject",
            Event::EmailSent => "mark as emailed",
            Event::EmailFailed => "mark as failed",
            Event::Download => "download",
            Event::Confirm => "confirm",
            Event::Lock => "lock",
            Event::Expire => "expire",
            Event::Cancel => "cancel",
            Event::Resend => "re-send",
            Event::Reissue => "re-issue",
        }
    }

    /// Whether `from` may take this event.
    pub fn allowed_from(self, from: State) -> bool {
        self.leaves().contains(&from)
    }
}

/// Statuses in which a link's expiry can be extended (the file is held and links exist).
pub const EXTENDABLE: &[State] = &[Approved, Emailed, Downloaded, Locked, FailedDelivery];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("held"), None);
    }

    #[test]
    fn a_request_follows_its_slowest_package_and_problems_first() {
        assert_eq!(State::of_request(Approved, &[Emailed, Downloaded]), Emailed);
        assert_eq!(State::of_request(Approved, &[Confirmed, Locked]), Locked);
        assert_eq!(
            State::of_request(Approved, &[Locked, FailedDelivery]),
            FailedDelivery
        );
        assert_eq!(
            State::of_request(Approved, &[Confirmed, Confirmed]),
            Confirmed
        );
        assert_eq!(State::of_request(Approved, &[Confirmed, Expired]), Expired);
        assert_eq!(
            State::of_request(Approved, &[Confirmed, Cancelled]),
            Confirmed
        );
        assert_eq!(State::of_request(Approved, &[Cancelled]), Cancelled);
        assert_eq!(State::of_request(Rejected, &[]), Rejected);
    }

    #[test]
    fn every_event_enters_a_state_it_does_not_leave_except_resend() {
        for e in [
            Event::Approve,
            Event::Reject,
            Event::EmailSent,
            Event::EmailFailed,
            Event::Confirm,
            Event::Lock,
            Event::Expire,
            Event::Cancel,
            Event::Reissue,
        ] {
            assert!(!e.allowed_from(e.enters()), "{e:?}");
        }
        assert!(!Event::Confirm.allowed_from(Confirmed));
        assert!(!Event::Download.allowed_from(PendingReview));
    }
}
