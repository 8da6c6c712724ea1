//! Reads `multipart/form-data` bodies for every upload form with one well-kept parser
//! (actix-multipart), within a size and a part-count limit; the caller gets whole parts.

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

/// One form part: a field or a file.
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub data: Vec<u8>,
}

/// How much one body may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of part data, all parts together.
    pub total: usize,
    /// Number of parts.
    pub parts: usize,
}

/// Longest wait for the parser's next piece. actix-multipart 0.7 never finishes a body that
/// ends inside a partial boundary (it waits for data that cannot come), so every step has a
/// deadline; an honest upload never stalls this long between chunks.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// The next item of `stream`, or [`MultipartError::Damaged`] when it stalls past [`IDLE`].
async fn next_or_stall<S: futures_util::Stream + Unpin>(
    stream: &mut S,
) -> Result<Option<S::Item>, MultipartError> {
    tokio::time::timeout(IDLE, stream.next())
        .await
        .map_err(|_| MultipartError::Damaged)
}

/// Why a body was not read; the text is what the user sees.
#[derive(Debug, thiserror::Error)]
pub enum MultipartError {
    #[error("Send the form as multipart/form-data.")]
    NotMultipart,
    #[error("The upload is larger than {} KiB.", .0 / 1024)]
    TooLarge(usize),
    #[error("The form has more than {0} parts.")]
    TooManyParts(usize),
    #[error("The upload is damaged or was interrupted; send the form again.")]
    Damaged,
}

/// Reads every part of the request's body, stopping as soon as a limit is passed.
pub async fn read(
    req: &HttpRequest,
    payload: web::Payload,
    limits: Limits,
) -> Result<Vec<Part>, MultipartError> {
    let is_form_data = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !is_form_data {
        return Err(MultipartError::NotMultipart);
    }
    let mut multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let mut parts = Vec::new();
    let mut total = 0usize;
    while let Some(field) = next_or_stall(&mut multipart).await? {
        let mut field = field.map_err(|_| MultipartError::Damaged)?;
        if parts.len() >= limits.parts {
            return Err(MultipartError::TooManyParts(limits.parts));
        }
        let disposition = field.content_disposition();
        let name = disposition
            .and_then(|d| d.get_name())
            .unwrap_or_default()
            .to_string();
        let filename = disposition
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let mut data = Vec::new();
        while let Some(chunk) = next_or_stall(&mut field).await? {
            let chunk = chunk.map_err(|_| MultipartError::Damaged)?;
            total = total.saturating_add(chunk.len());
            if total > limits.total {
                return Err(MultipartError::TooLarge(limits.total));
            }
            data.extend_from_slice(&chunk);
        }
        parts.push(Part {
            name,
            filename,
            data,
        });
    }
    Ok(parts)
}

/// Boundary of the fuzzed multipart bodies: the body is free, the header is what a browser sends.
#[doc(hidden)]
pub const FUZZ_BOUNDARY: &str = "----seedportfuzzboundary";

/// [`read`] on a request whose body is `data`: the entry point of the `multipart` fuzz target
/// and of its corpus replay (`tests/it/hardening/fuzz_corpora.rs`). `Ok` holds a short summary,
/// `Err` the message a user would see.
#[doc(hidden)]
pub async fn fuzz_body(data: &[u8]) -> Result<String, String> {
    use actix_web::FromRequest;
    let (req, mut payload) = actix_web::test::TestRequest::post()
        .insert_header((
            actix_web::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={FUZZ_BOUNDARY}"),
        ))
        .set_payload(data.to_vec())
        .to_http_parts();
    let payload = web::Payload::from_request(&req, &mut payload)
        .await
        .map_err(|e| e.to_string())?;
    let limits = Limits {
        total: 64 * 1024,
        parts: 16,
    };
    let parts = read(&req, payload, limits)
        .await
        .map_err(|e| e.to_string())?;
    let bytes: usize = parts.iter().map(|p| p.data.len()).sum();
    Ok(format!("{} parts, {bytes} bytes", parts.len()))
}

/// How long a replay waits on a body the parser stalls on. The handlers end such a body after
/// [`IDLE`] (5 s, its own unit test); the fuzz target runs on a paused clock, and a replay of
/// hundreds of inputs should not wait 5 s for each.
const REPLAY_STALL: std::time::Duration = std::time::Duration::from_millis(250);

/// [`fuzz_body`] on a current-thread runtime of its own, giving up on a stalled body after
/// [`REPLAY_STALL`] (an error, as the handler's deadline makes it): the stable replay's entry.
#[doc(hidden)]
pub fn fuzz_replay(data: &[u8]) -> Result<String, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(async {
            tokio::time::timeout(REPLAY_STALL, fuzz_body(data))
                .await
                .unwrap_or_else(|_| Err(MultipartError::Damaged.to_string()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

    async fn parse_all(boundary: &str, body: Vec<u8>) -> Result<usize, String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).unwrap(),
        );
        let stream = futures_util::stream::iter(vec![Ok::<_, actix_web::error::PayloadError>(
            web::Bytes::from(body),
        )]);
        let mut m = actix_multipart::Multipart::new(&headers, stream);
        let mut n = 0;
        while let Some(field) = next_or_stall(&mut m).await.map_err(|e| e.to_string())? {
            let mut field = field.map_err(|e| e.to_string())?;
            while let Some(chunk) = next_or_stall(&mut field).await.map_err(|e| e.to_string())? {
                n += chunk.map_err(|e| e.to_string())?.len();
            }
        }
        Ok(n)
    }

    /// actix-multipart 0.7.2 waits forever on this body; the deadline turns it into an error.
    #[actix_web::test]
    async fn a_body_ending_in_near_boundaries_is_damaged_not_a_hang() {
        let boundary = "a".repeat(70);
        let near = format!("\r\n--{}", &boundary[..69]);
        let mut body =
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n")
                .into_bytes();
        for _ in 0..3 {
            body.extend_from_slice(near.as_bytes());
        }
        let r = tokio::time::timeout(IDLE * 2, parse_all(&boundary, body)).await;
        assert!(matches!(r, Ok(Err(_))), "{r:?}");
    }
}
