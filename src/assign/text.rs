//! Reading text files the way customers make them: BOM, CRLF and blank lines tolerated.

/// Non-blank lines of `text` with their 1-based line numbers, a leading UTF-8 BOM removed and
/// trailing `\r` and surrounding whitespace trimmed.
pub fn lines(text: &str) -> Vec<(usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

/// Splits a CSV line on commas (the files we read are never quoted) and trims each cell.
pub fn cells(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// A free-text CSV value must not hold a delimiter, quote or control character, nor start like
/// a spreadsheet formula. Returns the reason when it does.
pub fn csv_unsafe(value: &str) -> Option<&'static str> {
    if value.contains(',') {
        return Some("may not contain a comma");
    }
    if value.contains('"') {
        return Some("may not contain a double quote");
    }
    if value.chars().any(char::is_control) {
        return Some("may not contain control characters");
    }
    if value.trim_start().starts_with(['=', '+', '-', '@']) {
        return Some("may not start with = + - or @");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_and_blank_lines() {
        let l = lines("\u{feff}a\r\n\r\n  \r\nb\r\n");
        assert_eq!(l, vec![(1, "a"), (4, "b")]);
    }
}
