//! Where a package's tokens come from: a source the pipeline walks once for shapes (planning
//! and checks, no seed needed) and once per planned file for the tokens themselves, so no
//! source ever has to hold every token in memory.

use crate::domain::{Token, TokenContext};
use crate::formats::TokenShape;
use crate::import::FactoryFile;

/// Called with each token's shape; `false` skips the token (its seed need not be read).
pub type Wanted<'a> = dyn FnMut(&TokenShape) -> bool + 'a;
/// Called with each wanted token and its order context.
pub type Each<'a> = dyn FnMut(&Token, &TokenContext) -> anyhow::Result<()> + 'a;

/// A re-walkable sequence of tokens. Both walks must visit the same tokens in the same order.
pub trait TokenSource {
    /// Visits every token's shape, in order.
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()>;

    /// Visits every token in order: asks `wanted` about each (exactly once, in order) and hands
    /// the wanted ones, seed included, to `each`.
    fn tokens(&mut self, wanted: &mut Wanted<'_>, each: &mut Each<'_>) -> anyhow::Result<()>;
}

/// Tokens already in memory (tests, small callers), all with one order context.
pub struct InMemory<'t> {
    pub tokens: &'t [Token],
    pub context: TokenContext,
}

impl TokenSource for InMemory<'_> {
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
        for t in self.tokens {
            each(&TokenShape::from(t));
        }
        Ok(())
    }

    fn tokens(&mut self, wanted: &mut Wanted<'_>, each: &mut Each<'_>) -> anyhow::Result<()> {
        for t in self.tokens {
            if wanted(&TokenShape::from(t)) {
                each(t, &self.context)?;
            }
        }
        Ok(())
    }
}

/// A checked factory file, streamed from its input on each walk (what `seedport pack` reads).
pub struct Factory<'f, 'a> {
    pub file: &'f FactoryFile<'a>,
    pub context: TokenContext,
}

impl TokenSource for Factory<'_, '_> {
    fn shapes(&mut self, each: &mut dyn FnMut(&TokenShape)) -> anyhow::Result<()> {
        self.file.for_each(&mut |t| {
            each(&TokenShape::from(&t));
            Ok(())
        })
    }

    fn tokens(&mut self, wanted: &mut Wanted<'_>, each: &mut Each<'_>) -> anyhow::Result<()> {
        let context = &self.context;
        self.file.for_each(&mut |t| {
            if wanted(&TokenShape::from(&t)) {
                each(&t, context)?;
            }
            Ok(())
        })
    }
}
