//! Counted nouns in words ("1 token", "3 tokens"): the one pluralisation every page, email and
//! audit line uses instead of "token(s)". Templates reach it as the `plural` tera filter.

use std::collections::HashMap;

/// `n` and the noun that fits it: `count(1, "token", "tokens")` is "1 token".
pub fn count(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The tera filter: `{{ n | plural(one="token", many="tokens") }}` renders "1 token" or
/// "3 tokens"; `many` defaults to `one` with an "s".
pub fn filter(
    value: &tera::Value,
    args: &HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let n = value
        .as_i64()
        .or_else(|| value.as_u64().and_then(|v| i64::try_from(v).ok()))
        .or_else(|| value.as_array().and_then(|a| i64::try_from(a.len()).ok()))
        .ok_or_else(|| tera::Error::msg(format!("plural: {value} is not a count")))?;
    let one = args
        .get("one")
        .and_then(tera::Value::as_str)
        .ok_or_else(|| tera::Error::msg("plural needs one=\"noun\""))?;
    let many = args
        .get("many")
        .and_then(tera::Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{one}s"));
    Ok(tera::Value::String(count(n, one, &many)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(1, "token", "tokens"), "1 token");
        assert_eq!(count(0, "token", "tokens"), "0 tokens");
        assert_eq!(count(2, "shipment", "shipments"), "2 shipments");
        let mut args = HashMap::new();
        args.insert("one".to_string(), tera::Value::from("attempt"));
        assert_eq!(filter(&tera::Value::from(1), &args).unwrap(), "1 attempt");
        assert_eq!(filter(&tera::Value::from(3), &args).unwrap(), "3 attempts");
        let list = tera::Value::from(vec![1, 2]);
        assert_eq!(filter(&list, &args).unwrap(), "2 attempts");
    }
}
