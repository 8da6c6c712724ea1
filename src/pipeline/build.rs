//! Builds one package: plans the files from the source's shapes, then streams each file's
//! tokens through the format writer into the zip / OpenPGP stack and on into `out`.

use super::package::{build_package, PackageEntry, PackageSummary, Protection, SafeFileName};
use super::plan::{PlannedFile, Planner};
use super::readme::ReadmeInput;
use super::source::{Each, Take, TokenSource};
use super::PackageError;
use crate::formats::{FormatError, FormatOptions, SeedFormat, TokenShape};
use rand::SeedableRng;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

/// Why a package could not be built; every message is fit to show the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Choice(#[from] super::choice::ChoiceError),
    #[error("there are no tokens to pack")]
    Empty,
    #[error("reading the tokens failed")]
    Source(#[source] anyhow::Error),
}

/// The customer's choices for one package (the tokens come from a [`TokenSource`]).
#[derive(Debug)]
pub struct PackageRequest<'a> {
    /// Base name of the package and its files, e.g. the request reference.
    pub base_name: &'a str,
    pub format: &'static SeedFormat,
    pub options: &'a FormatOptions,
    pub protection: &'a Protection,
    /// Dates the entries and README; the PGP certificate must be valid then.
    pub now: time::OffsetDateTime,
}

/// What [`build`] made: the package summary and the number of tokens in it.
#[derive(Debug, Clone)]
pub struct Built {
    pub summary: PackageSummary,
    pub token_count: u64,
}

/// Checks the options and every token against the format, then streams the package into
/// `out`. On error the output is incomplete and must be discarded.
pub fn build<W: Write + Send + Sync>(
    out: W,
    request: &PackageRequest<'_>,
    source: &mut dyn TokenSource,
) -> Result<Built, PackError> {
    let format = request.format;
    if !request.protection.zipped() && !super::choice::armorable(format.id) {
        return Err(PackError::Choice(super::choice::ChoiceError::ArmoredFormat));
    }
    format.check_options(request.options)?;
    let mut planner = Planner::new(format);
    source.plan(&mut planner).map_err(PackError::Source)?;
    let token_count = planner.total();
    if token_count == 0 {
        return Err(PackError::Empty);
    }
    let files = planner.finish(request.base_name)?;
    let walk = RefCell::new(Walk {
        source,
        ordinals: HashMap::new(),
        last: None,
    });
    let mut entries = Vec::with_capacity(files.len());
    for file in files {
        let name = SafeFileName::parse(&file.name)?;
        let walk = &walk;
        let options = request.options;
        entries.push(PackageEntry::new(name, move |w: &mut dyn Write| {
            // IVs, salts and MAC keys from a CSPRNG seeded once per file by the OS: one
            // system call per file instead of one per token.
            let mut rng = rand::rngs::StdRng::from_rng(rand::rngs::OsRng)?;
            let mut writer = format.open(options, &mut rng)?;
            writer.begin(w)?;
            walk.borrow_mut().file(format, &file, &mut |token, ctx| {
                writer.write_token(w, token, ctx)?;
                Ok(())
            })?;
            writer.finish(w)?;
            Ok(())
        }));
    }
    let readme = ReadmeInput {
        format_name: format.name.to_string(),
        token_count,
        how_to_import: format.how_to_import.to_string(),
    };
    let package_name = SafeFileName::parse(&safe_base(request.base_name))?;
    let summary = build_package(
        out,
        &package_name,
        entries,
        request.protection,
        &readme,
        request.now,
    )?;
    Ok(Built {
        summary,
        token_count,
    })
}

/// The walks over the source, one per planned file; a file that continues the group of the
/// file before it resumes that walk instead of starting over.
struct Walk<'s> {
    source: &'s mut dyn TokenSource,
    /// Tokens seen so far in the current walk, per file group.
    ordinals: HashMap<Option<String>, usize>,
    /// The group and end ordinal of the last file written.
    last: Option<(Option<String>, usize)>,
}

impl Walk<'_> {
    fn file(
        &mut self,
        format: &'static SeedFormat,
        file: &PlannedFile,
        each: &mut Each<'_>,
    ) -> anyhow::Result<()> {
        let resume = self.last.as_ref() == Some(&(file.group.clone(), file.first));
        if !resume {
            self.ordinals.clear();
        }
        let end = file.first + file.count;
        let ordinals = &mut self.ordinals;
        let mut wanted = |shape: &TokenShape| {
            let group = format.file_group(shape);
            let ours = group == file.group;
            let n = ordinals.entry(group).or_default();
            let ordinal = *n;
            if ours && ordinal >= end {
                return Take::Stop;
            }
            *n += 1;
            if ours && ordinal >= file.first {
                Take::Yes
            } else {
                Take::Skip
            }
        };
        self.source.tokens(resume, &mut wanted, each)?;
        self.last = Some((file.group.clone(), end));
        Ok(())
    }
}

/// A package base name reduced to the characters every file system accepts.
pub fn safe_base(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let trimmed = cleaned.trim_start_matches(['_', '-']);
    if trimmed.is_empty() {
        "seeds".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HashAlg, OtpKind, Serial, Token, TokenContext};
    use crate::formats::FormatId;
    use crate::pipeline::source::{InMemory, Wanted};
    use crate::pipeline::ZipPassword;
    use crate::vault::{SecretBytes, SecretString};
    use std::io::Read;

    /// Counts the walks that start over.
    struct Counting<'t> {
        inner: InMemory<'t>,
        fresh_walks: usize,
    }

    impl TokenSource for Counting<'_> {
        fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
            self.inner.shapes(each)
        }
        fn tokens(
            &mut self,
            resume: bool,
            wanted: &mut Wanted<'_>,
            each: &mut Each<'_>,
        ) -> anyhow::Result<()> {
            self.fresh_walks += usize::from(!resume);
            self.inner.tokens(resume, wanted, each)
        }
    }

    #[test]
    fn the_parts_of_a_group_take_one_walk_and_split_the_tokens_in_order() {
        let tokens: Vec<Token> = (0..250u32)
            .map(|i| Token {
                serial: Serial::parse(&format!("{}", 30_000_000 + i)).unwrap(),
                secret: SecretBytes::new(vec![i as u8; 20]),
                kind: OtpKind::Totp,
                hash: HashAlg::Sha1,
                digits: 6,
                time_step: 30,
                counter: 0,
                manufacturer: "Deepnet Security".into(),
                model: "SafeID/Enterprise".into(),
            })
            .collect();
        let password = ZipPassword::parse(SecretString::new("a fine long passphrase".into()));
        let protection = Protection::PasswordOnly(password.unwrap());
        let options = FormatOptions::default();
        let request = PackageRequest {
            base_name: "PO1",
            format: FormatId::EntraJson.format(),
            options: &options,
            protection: &protection,
            now: crate::clock::Clock::System.now_utc(),
        };
        let mut source = Counting {
            inner: InMemory::new(&tokens, TokenContext::default()),
            fresh_walks: 0,
        };
        let mut out = Vec::new();
        let built = build(&mut out, &request, &mut source).unwrap();
        assert_eq!(source.fresh_walks, 1);
        assert_eq!(built.token_count, 250);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
        for (part, range) in [(1, 0..100u32), (2, 100..200), (3, 200..250)] {
            let mut f = zip
                .by_name_decrypt(
                    &format!("PO1_part{part:03}.json"),
                    b"a fine long passphrase",
                )
                .unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            for i in 0..250 {
                let serial = format!("{}", 30_000_000 + i);
                assert_eq!(
                    text.contains(&serial),
                    range.contains(&i),
                    "part {part}, {serial}"
                );
            }
        }
    }
}
