//! A small `multipart/form-data` reader for the protection form (text fields and one small
//! key file), so the form works without JavaScript. Bodies are size-limited by the caller.

use super::fields::Fields;

/// Reads the boundary from a `Content-Type` header value.
pub fn boundary(content_type: &str) -> Option<String> {
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return None;
    }
    content_type.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn disposition_param(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Parses `body` into fields; file parts become fields too (their content as text, lossily).
/// `None` when the body is not well-formed multipart.
pub fn parse(body: &[u8], boundary: &str) -> Option<Fields> {
    let delim = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let mut pos = find(body, &delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Some(Fields(fields));
        }
        pos = pos.checked_add(2)?; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", pos)?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).to_string();
        let data_start = head_end + 4;
        let mut next_delim = b"\r\n".to_vec();
        next_delim.extend_from_slice(&delim);
        let data_end = find(body, &next_delim, data_start)?;
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| disposition_param(l, "name"));
        if let Some(name) = name {
            let value = String::from_utf8_lossy(&body[data_start..data_end]).to_string();
            fields.push((name, value));
        }
        pos = data_end + next_delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"k.asc\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
        let f = parse(body, "XyZ").unwrap();
        assert_eq!(f.get("a"), Some("one"));
        assert_eq!(f.get("f"), Some("line1\r\nline2"));
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert!(parse(b"garbage", "XyZ").is_none());
    }
}
