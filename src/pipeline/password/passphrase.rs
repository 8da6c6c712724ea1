//! Generates passphrases the customer may use instead of inventing a password.

use crate::vault::SecretString;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;

/// Words in a suggested passphrase. With the embedded list of ~1,300 words, five words give about
/// 51 bits of entropy.
pub const PASSPHRASE_WORDS: usize = 5;

/// Short common English words, one per line, lower case, unique.
const WORD_LIST: &str = include_str!("words.txt");

/// Five random words from the embedded list joined with `-` (e.g. `maple-tunnel-brisk-otter-gem`),
/// drawn from the operating system's CSPRNG.
pub fn suggest_passphrase() -> SecretString {
    let words: Vec<&str> = words().collect();
    let mut out = String::with_capacity(PASSPHRASE_WORDS * 8);
    for i in 0..PASSPHRASE_WORDS {
        if i > 0 {
            out.push('-');
        }
        if let Some(word) = words.choose(&mut OsRng) {
            out.push_str(word);
        }
    }
    SecretString::new(out)
}

fn words() -> impl Iterator<Item = &'static str> {
    WORD_LIST.lines().map(str::trim).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::password::ZipPassword;
    use std::collections::HashSet;

    #[test]
    fn word_list_is_large_unique_and_simple() {
        let all: Vec<&str> = words().collect();
        let unique: HashSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len());
        assert!(all.len() >= 1024, "{}", all.len());
        assert!(all
            .iter()
            .all(|w| w.len() <= 8 && w.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn suggestions_pass_the_policy_and_differ() {
        let a = suggest_passphrase();
        let b = suggest_passphrase();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().split('-').count(), PASSPHRASE_WORDS);
        assert!(ZipPassword::parse(a).is_ok());
    }
}
