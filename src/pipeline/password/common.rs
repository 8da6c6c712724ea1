//! Decides whether a password is a commonly used one: an embedded list plus obvious patterns.

/// One lower-case password per line; `#` lines are comments.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Keyboard rows and alphabets that people walk along; a password that is a run along one of
/// these (forwards or backwards, possibly wrapping) is as good as common.
const SEQUENCES: [&str; 7] = [
    "01234567890123456789012345678901234567890123456789",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnmqwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbnazertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p1qaz2wsx3edc4rfv",
    "qazwsxedcrfvtgbyhnujmikolpqazwsxedcrfvtgbyhnujmikolp",
];

/// True when `password` is on the list, is a keyboard or alphabet run, repeats a short unit,
/// or is one of those with only digits, punctuation or spaces around it.
pub(super) fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    if is_obvious(&lower) {
        return true;
    }
    let base = lower.trim_matches(|c: char| {
        c.is_ascii_digit() || c.is_ascii_punctuation() || c.is_whitespace()
    });
    !base.is_empty() && base != lower && is_obvious(base)
}

fn is_obvious(lower: &str) -> bool {
    on_list(lower) || is_repetition(lower) || is_sequence(lower)
}

fn on_list(lower: &str) -> bool {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .any(|line| line == lower)
}

/// "aaaa", "abab", "abcabc", "12341234": a unit of at most 4 characters repeated.
fn is_repetition(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    (1..=4).any(|unit| {
        chars.len() >= unit * 2
            && chars.len().is_multiple_of(unit)
            && chars
                .chunks(unit)
                .all(|chunk| Some(chunk) == chars.get(..unit))
    })
}

fn is_sequence(lower: &str) -> bool {
    if lower.chars().count() < 4 {
        return false;
    }
    let reversed: String = lower.chars().rev().collect();
    SEQUENCES
        .iter()
        .any(|seq| seq.contains(lower) || seq.contains(reversed.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_lower_case_and_large_enough() {
        let entries: Vec<&str> = COMMON_PASSWORDS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(entries.len() >= 400, "{}", entries.len());
        for e in entries {
            assert_eq!(e, e.to_lowercase(), "{e}");
        }
    }

    #[test]
    fn patterns() {
        assert!(is_common("QWERTYUIOPAS"));
        assert!(is_common("mnbvcxzlkjhg"));
        assert!(is_common("1234567890123"));
        assert!(is_common("!!!!!!!!!!!!"));
        assert!(is_common("Welcome123!!"));
        assert!(!is_common("tulip-anchor-gravel"));
        assert!(!is_common("8305 1942 7716"));
    }
}
