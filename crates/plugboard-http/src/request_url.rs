//! A request's URL checked before anything is sent, and the parts of it an error may show:
//! never a path, query, fragment or credentials, which can carry codes and keys.

use plugboard_core::{HttpError, sanitize_line};
use url::Url;

/// Parses `raw` as an absolute http(s) URL with a host.
pub(crate) fn parse_url(raw: &str) -> Result<Url, HttpError> {
    let invalid = |reason: &str| HttpError::InvalidUrl {
        url: redact_url(raw),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs can be requested"));
    }
    if url.host().is_none() {
        return Err(invalid("the URL has no host"));
    }
    Ok(url)
}

/// `raw` without its path, query, fragment or credentials, for error messages: those parts can
/// carry authorization codes and keys.
fn redact_url(raw: &str) -> String {
    let cut = raw.find(['?', '#']).unwrap_or(raw.len());
    let shown = &raw[..cut];
    if let Some(scheme_end) = shown.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = shown[authority_start..]
            .find('/')
            .map_or(shown.len(), |i| authority_start + i);
        let authority = &shown[authority_start..authority_end];
        let host_start = authority.rfind('@').map_or(0, |i| i + 1);
        return format!(
            "{}{}",
            &shown[..authority_start],
            sanitize_line(&authority[host_start..], 100)
        );
    }
    sanitize_line(shown, 100)
}

/// The host (and port, when not the scheme's default) that errors may name.
pub(crate) fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use plugboard_core::{HttpClient, HttpRequest, HttpSettings};

    use super::*;
    use crate::NetworkClient;

    #[tokio::test]
    async fn urls_that_are_not_absolute_http_are_refused_without_their_path() {
        let client = NetworkClient::new(&HttpSettings::default()).unwrap();
        let cases = [
            ("/token?code=abc", "/token"),
            ("ftp://files.test/x?code=abc", "ftp://files.test"),
            ("file:///etc/passwd", "file://"),
            ("https://user:pw@/x?code=abc", "https://"),
            ("not a url", "not a url"),
        ];
        for (raw, shown) in cases {
            let error = client.send(HttpRequest::get(raw)).await.unwrap_err();
            let HttpError::InvalidUrl { url, .. } = &error else {
                panic!("{raw}: {error:?}");
            };
            assert_eq!(url, shown, "{raw}");
            assert!(!error.to_string().contains("abc"), "{error}");
        }
    }
}
