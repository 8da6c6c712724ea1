//! Where a package's tokens come from: a source the pipeline walks once for shapes (planning
//! and checks, no seed needed) and then once per planned file for the tokens themselves, so no
//! source ever has to hold every token in memory. A walk can stop at a token and the next walk
//! resume there, so the parts of one file group cost one pass over the source, not one each.

use super::plan::Planner;
use crate::domain::{Token, TokenContext};
use crate::formats::TokenShape;
use crate::import::factory::FactoryTokens;
use crate::import::FactoryFile;

/// What the pipeline wants done with the token whose shape it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Hand it over (seed included).
    Yes,
    /// Pass over it (its seed need not be read).
    Skip,
    /// End this walk before this token; a resumed walk starts with it.
    Stop,
}

/// Called with each token's shape.
pub type Wanted<'a> = dyn FnMut(&TokenShape) -> Take + 'a;
/// Called with each wanted token and its order context.
pub type Each<'a> = dyn FnMut(&Token, &TokenContext) -> anyhow::Result<()> + 'a;

/// A re-walkable sequence of tokens. Every walk visits the same tokens in the same order.
pub trait TokenSource {
    /// Visits every token's shape, in order.
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()>;

    /// Adds every token's shape to `planner`. A source that already knows how many tokens
    /// share each shape says so instead of walking.
    fn plan(&mut self, planner: &mut Planner) -> anyhow::Result<()> {
        self.shapes(&mut |shape| planner.add(shape))
    }

    /// Walks the tokens in order, from the start, or (with `resume`) from the token the last
    /// walk stopped at. Asks `wanted` about each token once and hands the wanted ones to `each`.
    fn tokens(
        &mut self,
        resume: bool,
        wanted: &mut Wanted<'_>,
        each: &mut Each<'_>,
    ) -> anyhow::Result<()>;
}

/// Tokens already in memory (tests, benches, small callers), all with one order context.
pub struct InMemory<'t> {
    pub tokens: &'t [Token],
    pub context: TokenContext,
    /// Where the last walk stopped.
    pub position: usize,
}

impl<'t> InMemory<'t> {
    pub fn new(tokens: &'t [Token], context: TokenContext) -> InMemory<'t> {
        InMemory {
            tokens,
            context,
            position: 0,
        }
    }
}

impl TokenSource for InMemory<'_> {
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
        for t in self.tokens {
            each(&TokenShape::from(t));
        }
        Ok(())
    }

    fn tokens(
        &mut self,
        resume: bool,
        wanted: &mut Wanted<'_>,
        each: &mut Each<'_>,
    ) -> anyhow::Result<()> {
        let start = if resume { self.position } else { 0 };
        self.position = self.tokens.len();
        for (i, t) in self.tokens.iter().enumerate().skip(start) {
            match wanted(&TokenShape::from(t)) {
                Take::Yes => each(t, &self.context)?,
                Take::Skip => {}
                Take::Stop => {
                    self.position = i;
                    break;
                }
            }
        }
        Ok(())
    }
}

/// A checked factory file, streamed from its input (what `seedport pack` reads).
pub struct Factory<'f, 'a> {
    file: &'f FactoryFile<'a>,
    context: TokenContext,
    /// The pass a stopped walk left open, and the token it stopped at.
    paused: Option<(FactoryTokens<'f>, Token)>,
    /// The shape shown to `wanted`, refilled for each token (no allocation per token).
    shape: Option<TokenShape>,
}

impl<'f, 'a> Factory<'f, 'a> {
    pub fn new(file: &'f FactoryFile<'a>, context: TokenContext) -> Factory<'f, 'a> {
        Factory {
            file,
            context,
            paused: None,
            shape: None,
        }
    }
}

impl TokenSource for Factory<'_, '_> {
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
        self.file.for_each(&mut |t| {
            each(&TokenShape::from(&t));
            Ok(())
        })
    }

    /// The check pass counted the shapes: planning reads the file only when a shape breaks a
    /// rule (to name its serials) or the file had too many shapes to count.
    fn plan(&mut self, planner: &mut Planner) -> anyhow::Result<()> {
        match self.file.shape_counts().get() {
            Some(counts) if planner.add_alike(counts) => Ok(()),
            _ => self.shapes(&mut |shape| planner.add(shape)),
        }
    }

    fn tokens(
        &mut self,
        resume: bool,
        wanted: &mut Wanted<'_>,
        each: &mut Each<'_>,
    ) -> anyhow::Result<()> {
        let (mut pass, mut next) = match (resume, self.paused.take()) {
            (true, Some((pass, token))) => (pass, Some(token)),
            _ => (self.file.tokens()?, None),
        };
        loop {
            let token = match next.take() {
                Some(t) => t,
                None => match pass.next() {
                    Some(t) => t?,
                    None => return Ok(()),
                },
            };
            let shape = match &mut self.shape {
                Some(shape) => {
                    shape.refill(&token);
                    shape
                }
                None => self.shape.insert(TokenShape::from(&token)),
            };
            match wanted(shape) {
                Take::Yes => each(&token, &self.context)?,
                Take::Skip => {}
                Take::Stop => {
                    self.paused = Some((pass, token));
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::FormatId;
    use crate::import::FactoryInput;

    const HEADER: &str = "serial number,secret key,time interval,manufacturer,model\n";

    fn plan(text: &str, format: FormatId) -> (Vec<(String, usize)>, Result<u64, String>) {
        let file = FactoryFile::check(FactoryInput::Bytes(text.as_bytes()), &Default::default());
        let file = file.unwrap();
        let mut planner = Planner::new(format.format());
        Factory::new(&file, TokenContext::default())
            .plan(&mut planner)
            .unwrap();
        let total = planner.total();
        match planner.finish("PO1") {
            Ok(files) => (
                files.into_iter().map(|f| (f.name, f.count)).collect(),
                Ok(total),
            ),
            Err(e) => (Vec::new(), Err(e.to_string())),
        }
    }

    #[test]
    fn a_factory_file_is_planned_from_its_counted_shapes_as_from_a_walk() {
        let mut text = HEADER.to_string();
        for i in 0..30 {
            let (step, model) = if i % 3 == 0 {
                (30, "SafeID/Enterprise")
            } else {
                (60, "SafeID/Classic")
            };
            text.push_str(&format!(
                "{},234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,{step},Deepnet Security,{model}\n",
                1000 + i
            ));
        }
        let file =
            FactoryFile::check(FactoryInput::Bytes(text.as_bytes()), &Default::default()).unwrap();
        let mut walked = Planner::new(FormatId::DuoCsv.format());
        Factory::new(&file, TokenContext::default())
            .shapes(&mut |s| walked.add(s))
            .unwrap();
        let walked: Vec<(String, usize)> = walked
            .finish("PO1")
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.count))
            .collect();
        let (files, total) = plan(&text, FormatId::DuoCsv);
        assert_eq!(files, walked);
        assert_eq!(
            files,
            [
                ("PO1_duo_TOTP6_30s.csv".to_string(), 10),
                ("PO1_duo_TOTP6_60s.csv".to_string(), 20)
            ]
        );
        assert_eq!(total, Ok(30));
    }

    #[test]
    fn a_shape_that_breaks_a_rule_is_walked_so_the_error_names_its_serials() {
        let text = format!(
            "{HEADER}\
             1001,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,60,Deepnet Security,SafeID/Classic\n\
             1002,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,0,Deepnet Security,SafeID/Eco\n\
             1003,234567ABCDEFGHIJKLMNOPQRSTUVWXYZ,0,Deepnet Security,SafeID/Eco\n"
        );
        let (_, result) = plan(&text, FormatId::EntraCsv);
        let e = result.unwrap_err();
        assert!(e.contains("1002, 1003") && !e.contains("1001"), "{e}");
    }
}
