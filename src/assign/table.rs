//! The assignment table: every token, who holds it, and the rules for changing that.

use super::tokens::AssignToken;
use super::upn::{DisplayName, Upn};
use super::users::UserEntry;
use crate::domain::Serial;
use std::collections::{HashMap, HashSet};
use time::Date;

/// Entra lets a user hold at most this many hardware OATH tokens.
pub const MAX_TOKENS_PER_USER: usize = 5;

/// Where a token stands in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never assigned.
    Free,
    /// Assigned before this session (from an inventory or a filled Entra file).
    Old,
    /// Assigned in this session.
    New,
    /// An old assignment was removed; the token is free again.
    Unassigned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Free => "Free",
            Status::Old => "Old",
            Status::New => "New",
            Status::Unassigned => "Unassigned",
        }
    }

    /// Old and New rows have a user; Free and Unassigned rows can take one.
    pub fn is_assigned(self) -> bool {
        matches!(self, Status::Old | Status::New)
    }
}

/// One token and its assignment. `upn` is set exactly when the status is Old or New.
#[derive(Debug, Clone)]
pub struct Row {
    pub token: AssignToken,
    pub upn: Option<Upn>,
    pub display_name: DisplayName,
    pub status: Status,
    /// Day of the last change to the assignment.
    pub date: Option<Date>,
}

impl Row {
    /// A token nobody holds.
    pub fn free(token: AssignToken) -> Row {
        Row {
            token,
            upn: None,
            display_name: DisplayName::default(),
            status: Status::Free,
            date: None,
        }
    }

    fn clear(&mut self, today: Date) {
        self.upn = None;
        self.display_name = DisplayName::default();
        if self.status == Status::Old {
            self.status = Status::Unassigned;
            self.date = Some(today);
        } else if self.status == Status::New {
            self.status = Status::Free;
            self.date = None;
        }
    }

    fn give(&mut self, upn: Upn, name: DisplayName, today: Date) {
        self.upn = Some(upn);
        self.display_name = name;
        self.status = Status::New;
        self.date = Some(today);
    }
}

/// Why a change to the table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    #[error("{users} users need a token but only {free} tokens are free; add tokens or shorten the user list (nothing was assigned)")]
    NotEnoughTokens { users: usize, free: usize },
    #[error(
        "user {upn} would hold {count} tokens; Entra allows at most {MAX_TOKENS_PER_USER} per user"
    )]
    TooManyTokens { upn: String, count: usize },
    #[error("there is no token {0}")]
    UnknownSerial(String),
    #[error("token {0} is not assigned to anyone")]
    NotAssigned(String),
    #[error("token {0} is in both files with different data (secret key or time interval differ)")]
    Conflict(String),
}

/// What "Apply & Assign" did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// (user, serial) in assignment order.
    pub assigned: Vec<(String, String)>,
    /// Users skipped because they already hold a token.
    pub skipped: Vec<String>,
}

/// All tokens of a session, in file order.
#[derive(Debug, Clone, Default)]
pub struct Assignments {
    rows: Vec<Row>,
}

// Every index here comes from `index()` or `position()` over `self.rows` just before use.
#[allow(clippy::indexing_slicing)]
impl Assignments {
    /// Starts from the rows of one file (see [`super::parse_token_file`]); checks the per-user limit.
    pub fn new(rows: Vec<Row>) -> Result<Assignments, AssignError> {
        let a = Assignments { rows };
        a.check()?;
        Ok(a)
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Adds the tokens of another file. A serial already present keeps its row (the inventory
    /// wins), but its token data must match. Returns how many tokens were new.
    pub fn merge(&mut self, rows: Vec<Row>) -> Result<usize, AssignError> {
        let known: HashMap<Serial, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.token.serial.clone(), i))
            .collect();
        let mut added = Vec::new();
        for row in rows {
            match known.get(&row.token.serial) {
                Some(&i) if !self.rows[i].token.same_as(&row.token) => {
                    return Err(AssignError::Conflict(row.token.serial.to_string()))
                }
                Some(_) => {}
                None => added.push(row),
            }
        }
        let n = added.len();
        let mut next = self.clone();
        next.rows.extend(added);
        next.check()?;
        *self = next;
        Ok(n)
    }

    /// How many tokens `upn` holds.
    pub fn count_for(&self, upn: &Upn) -> usize {
        self.rows
            .iter()
            .filter(|r| r.upn.as_ref() == Some(upn))
            .count()
    }

    /// "Apply & Assign": gives the free tokens (Free or Unassigned, in table order) to the
    /// listed users in list order, skipping users who already hold a token. If there are fewer
    /// free tokens than users needing one, nothing is assigned.
    pub fn apply(&mut self, users: &[UserEntry], today: Date) -> Result<ApplyReport, AssignError> {
        let holders: HashSet<String> = self
            .rows
            .iter()
            .filter_map(|r| r.upn.as_ref().map(Upn::key))
            .collect();
        let mut report = ApplyReport::default();
        let mut needing = Vec::new();
        for u in users {
            if holders.contains(&u.upn.key()) {
                report.skipped.push(u.upn.to_string());
            } else {
                needing.push(u);
            }
        }
        let free: Vec<usize> = (0..self.rows.len())
            .filter(|&i| !self.rows[i].status.is_assigned())
            .collect();
        if needing.len() > free.len() {
            return Err(AssignError::NotEnoughTokens {
                users: needing.len(),
                free: free.len(),
            });
        }
        for (u, i) in needing.into_iter().zip(free) {
            let row = &mut self.rows[i];
            row.give(u.upn.clone(), u.display_name.clone(), today);
            report
                .assigned
                .push((u.upn.to_string(), row.token.serial.to_string()));
        }
        Ok(report)
    }

    fn index(&self, serial: &str) -> Result<usize, AssignError> {
        self.rows
            .iter()
            .position(|r| r.token.serial.as_str() == serial)
            .ok_or_else(|| AssignError::UnknownSerial(serial.to_string()))
    }

    /// Removes the assignment of token `serial`: an Old one becomes Unassigned, a New one Free.
    pub fn unassign(&mut self, serial: &str, today: Date) -> Result<(), AssignError> {
        let i = self.index(serial)?;
        if !self.rows[i].status.is_assigned() {
            return Err(AssignError::NotAssigned(serial.to_string()));
        }
        self.rows[i].clear(today);
        Ok(())
    }

    /// Moves the user of token `from` to token `to` (drag and drop). If `to` has a user, the two
    /// swap. Moved assignments are New.
    pub fn reassign(&mut self, from: &str, to: &str, today: Date) -> Result<(), AssignError> {
        let (f, t) = (self.index(from)?, self.index(to)?);
        if f == t {
            return Ok(());
        }
        let Some(upn) = self.rows[f].upn.clone() else {
            return Err(AssignError::NotAssigned(from.to_string()));
        };
        let name = self.rows[f].display_name.clone();
        match (self.rows[t].upn.clone(), self.rows[t].display_name.clone()) {
            (Some(other), other_name) => self.rows[f].give(other, other_name, today),
            (None, _) => self.rows[f].clear(today),
        }
        self.rows[t].give(upn, name, today);
        Ok(())
    }

    /// Gives token `serial` to `upn` (editing the UPN in place), keeping the per-user limit.
    pub fn set_user(
        &mut self,
        serial: &str,
        upn: Upn,
        name: DisplayName,
        today: Date,
    ) -> Result<(), AssignError> {
        let i = self.index(serial)?;
        let row = &self.rows[i];
        if row.upn.as_ref() == Some(&upn) {
            self.rows[i].display_name = name;
            return Ok(());
        }
        let count = self.count_for(&upn) + 1;
        if count > MAX_TOKENS_PER_USER {
            return Err(AssignError::TooManyTokens {
                upn: upn.to_string(),
                count,
            });
        }
        self.rows[i].give(upn, name, today);
        Ok(())
    }

    /// The per-user limit over the whole table.
    pub fn check(&self) -> Result<(), AssignError> {
        let mut counts: HashMap<String, (usize, &Upn)> = HashMap::new();
        for upn in self.rows.iter().filter_map(|r| r.upn.as_ref()) {
            counts.entry(upn.key()).or_insert((0, upn)).0 += 1;
        }
        let mut over: Vec<_> = counts
            .into_values()
            .filter(|(n, _)| *n > MAX_TOKENS_PER_USER)
            .collect();
        over.sort_by_key(|(_, u)| u.key());
        match over.first() {
            Some((count, upn)) => Err(AssignError::TooManyTokens {
                upn: upn.to_string(),
                count: *count,
            }),
            None => Ok(()),
        }
    }
}
