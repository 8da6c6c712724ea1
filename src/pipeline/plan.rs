//! The one file planner: which files a package holds, their names and order, and which tokens
//! go into each, decided from secret-free token shapes only.
//!
//! Files are ordered by their format's file group (sorted; the ungrouped file first), then by
//! part. Within a group, tokens keep the order the source gives them, and a group larger than
//! the format's `max_tokens_per_file` is cut into consecutive parts. A planned file names its
//! tokens by (group, ordinal within the group), so no list of token indices is ever held and a
//! source can be streamed again for each file.

use crate::formats::{FormatError, Problem, SeedFormat, TokenShape};
use std::collections::BTreeMap;

/// One file of a package: its name and which tokens of its group it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub name: String,
    /// The format's file group of every token in this file.
    pub group: Option<String>,
    /// Ordinal (0-based, within the group) of the first token of this file.
    pub first: usize,
    /// Number of tokens in this file.
    pub count: usize,
}

impl PlannedFile {
    /// Whether the token with this group and ordinal within its group belongs here.
    pub fn holds(&self, group: &Option<String>, ordinal: usize) -> bool {
        *group == self.group && ordinal >= self.first && ordinal < self.first + self.count
    }
}

/// Collects shapes one at a time: checks each against the format's rules (every rule broken,
/// with the first serials breaking it) and counts tokens per file group.
pub struct Planner {
    format: &'static SeedFormat,
    groups: BTreeMap<Option<String>, usize>,
    problems: Vec<Problem>,
    total: u64,
}

impl Planner {
    pub fn new(format: &'static SeedFormat) -> Planner {
        Planner {
            format,
            groups: BTreeMap::new(),
            problems: Vec::new(),
            total: 0,
        }
    }

    /// Adds the next token's shape, in the source's order.
    pub fn add(&mut self, shape: &TokenShape) {
        self.total += 1;
        if let Err(rule) = self.format.check_token(shape) {
            match self.problems.iter_mut().find(|p| p.rule == rule) {
                Some(p) => p.add(shape.serial.as_str()),
                None => {
                    let mut p = Problem::new(rule);
                    p.add(shape.serial.as_str());
                    self.problems.push(p);
                }
            }
            return;
        }
        *self
            .groups
            .entry(self.format.file_group(shape))
            .or_default() += 1;
    }

    /// Adds `count` tokens of each shape, all or none: `false` (nothing added) when a shape
    /// breaks a rule, since the problem must then name the serials that break it and only a
    /// walk over every shape knows them. Format rules and file groups never look at the serial.
    pub fn add_alike(&mut self, counts: &[(TokenShape, u64)]) -> bool {
        if counts
            .iter()
            .any(|(shape, _)| self.format.check_token(shape).is_err())
        {
            return false;
        }
        for (shape, count) in counts {
            self.total += count;
            let n = usize::try_from(*count).unwrap_or(usize::MAX);
            *self
                .groups
                .entry(self.format.file_group(shape))
                .or_default() += n;
        }
        true
    }

    /// Number of tokens added.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The files of the package named `base`, or every rule the tokens break.
    pub fn finish(self, base: &str) -> Result<Vec<PlannedFile>, FormatError> {
        if !self.problems.is_empty() {
            return Err(FormatError::Incompatible {
                format: self.format.name,
                problems: self.problems,
            });
        }
        let format = self.format;
        let mut files = Vec::new();
        for (group, count) in self.groups {
            match format.max_tokens_per_file {
                Some(max) if max > 0 && count > max => {
                    let mut first = 0;
                    let mut part = 1;
                    while first < count {
                        files.push(PlannedFile {
                            name: format.file_name(base, group.as_deref(), Some(part)),
                            group: group.clone(),
                            first,
                            count: max.min(count - first),
                        });
                        first += max;
                        part += 1;
                    }
                }
                _ => files.push(PlannedFile {
                    name: format.file_name(base, group.as_deref(), None),
                    group,
                    first: 0,
                    count,
                }),
            }
        }
        Ok(files)
    }
}

/// Plans the files of `shapes` (in source order) for the package named `base`.
pub fn plan_files<'s>(
    format: &'static SeedFormat,
    base: &str,
    shapes: impl IntoIterator<Item = &'s TokenShape>,
) -> Result<Vec<PlannedFile>, FormatError> {
    let mut planner = Planner::new(format);
    for shape in shapes {
        planner.add(shape);
    }
    planner.finish(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HashAlg, OtpKind, Serial};
    use crate::formats::FormatId;

    fn shape(serial: u32, step: u32) -> TokenShape {
        TokenShape {
            serial: Serial::parse(&serial.to_string()).unwrap(),
            kind: OtpKind::Totp,
            hash: HashAlg::Sha1,
            digits: 6,
            time_step: step,
            counter: 0,
            secret_len: 20,
            manufacturer: "Deepnet Security".into(),
            model: "SafeID/Classic".into(),
        }
    }

    #[test]
    fn groups_are_sorted_and_tokens_keep_their_order_within_a_group() {
        let shapes = [shape(1, 60), shape(2, 30), shape(3, 60), shape(4, 30)];
        let files = plan_files(FormatId::DuoCsv.format(), "PO1", &shapes).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["PO1_duo_TOTP6_30s.csv", "PO1_duo_TOTP6_60s.csv"]);
        assert_eq!((files[0].first, files[0].count), (0, 2));
        let g30 = Some("duo_TOTP6_30s".to_string());
        assert!(files[0].holds(&g30, 1) && !files[0].holds(&g30, 2) && !files[1].holds(&g30, 0));
    }

    #[test]
    fn large_groups_are_cut_into_numbered_parts() {
        let format = FormatId::EntraJson.format();
        let max = format.max_tokens_per_file.unwrap();
        let shapes: Vec<TokenShape> = (0..(2 * max + 1) as u32)
            .map(|i| shape(i + 1, 30))
            .collect();
        let files = plan_files(format, "PO1", &shapes).unwrap();
        let summary: Vec<(&str, usize, usize)> = files
            .iter()
            .map(|f| (f.name.as_str(), f.first, f.count))
            .collect();
        assert_eq!(
            summary,
            [
                ("PO1_part001.json", 0, max),
                ("PO1_part002.json", max, max),
                ("PO1_part003.json", 2 * max, 1)
            ]
        );
    }

    #[test]
    fn counted_shapes_plan_as_the_walk_does_and_a_broken_rule_asks_for_the_walk() {
        let format = FormatId::DuoCsv.format();
        let shapes = [
            shape(1, 60),
            shape(2, 30),
            shape(3, 60),
            shape(4, 30),
            shape(5, 60),
        ];
        let walked = plan_files(format, "PO1", &shapes).unwrap();
        let mut planner = Planner::new(format);
        assert!(planner.add_alike(&[(shape(1, 60), 3), (shape(2, 30), 2)]));
        assert_eq!(planner.total(), 5);
        assert_eq!(planner.finish("PO1").unwrap(), walked);

        let mut hotp = shape(9, 30);
        hotp.kind = OtpKind::Hotp;
        let mut planner = Planner::new(FormatId::EntraCsv.format());
        assert!(!planner.add_alike(&[(shape(1, 30), 1), (hotp, 1)]));
        assert_eq!(planner.total(), 0);
    }

    #[test]
    fn every_broken_rule_is_reported_before_any_file_is_planned() {
        let mut hotp = shape(9, 30);
        hotp.kind = OtpKind::Hotp;
        let e = plan_files(FormatId::EntraCsv.format(), "PO1", &[shape(1, 30), hotp]).unwrap_err();
        assert!(e.to_string().contains('9'), "{e}");
    }
}
