//! The demo mailbox: reads the `.eml` files the demo sender writes, so a newcomer can read the
//! emails (and click their links) in the browser.

use base64::Engine;
use std::path::Path;

/// One email in the folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailboxEntry {
    pub name: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub text: String,
}

/// A file name the mailbox serves: `<something>.eml`, no path separators, no dot files.
pub fn valid_name(name: &str) -> bool {
    name.ends_with(".eml")
        && !name.starts_with('.')
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Every email in `dir`, newest first.
pub fn list(dir: &Path) -> Vec<MailboxEntry> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, MailboxEntry)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            if !valid_name(&name) {
                return None;
            }
            let modified = e.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, read(dir, &name)?))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    found.into_iter().map(|(_, e)| e).collect()
}

/// One email, parsed enough to show its headers and text part.
pub fn read(dir: &Path, name: &str) -> Option<MailboxEntry> {
    if !valid_name(name) {
        return None;
    }
    let raw = std::fs::read_to_string(dir.join(name)).ok()?;
    let (headers, body) = split_headers(&raw);
    let text = text_part(&headers, body).unwrap_or_default();
    Some(MailboxEntry {
        name: name.to_string(),
        to: header(&headers, "to").unwrap_or_default(),
        subject: header(&headers, "subject").unwrap_or_default(),
        date: header(&headers, "date").unwrap_or_default(),
        text,
    })
}

/// Unfolded header lines and the body.
fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let raw = raw.trim_start_matches(['\r', '\n']);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (headers, body)
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn decode(headers: &[(String, String)], body: &str) -> String {
    let encoding = header(headers, "content-transfer-encoding").unwrap_or_default();
    if encoding.eq_ignore_ascii_case("base64") {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(compact) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).to_string(),
            Err(_) => body.to_string(),
        }
    } else {
        body.to_string()
    }
}

/// The first `text/plain` part, searched through nested multiparts.
fn text_part(headers: &[(String, String)], body: &str) -> Option<String> {
    let content_type = header(headers, "content-type").unwrap_or_else(|| "text/plain".into());
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("text/plain") {
        return Some(decode(headers, body));
    }
    if !lower.starts_with("multipart/") {
        return None;
    }
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"')
        .to_string();
    let delimiter = format!("--{boundary}");
    for piece in body.split(delimiter.as_str()).skip(1) {
        if piece.starts_with("--") {
            break;
        }
        let (part_headers, part_body) = split_headers(piece);
        if let Some(text) = text_part(&part_headers, part_body) {
            return Some(text);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("0b1e-42.eml"));
        assert!(!valid_name("../x.eml"));
        assert!(!valid_name(".hidden.eml"));
        assert!(!valid_name("x.txt"));
    }

    #[test]
    fn finds_the_base64_text_part() {
        let raw = "Subject: Hi\r\nContent-Type: multipart/alternative;\r\n boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b1--\r\n";
        let (h, b) = split_headers(raw);
        assert_eq!(header(&h, "subject").as_deref(), Some("Hi"));
        assert_eq!(text_part(&h, b).as_deref(), Some("hello world"));
    }
}
