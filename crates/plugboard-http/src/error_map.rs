//! A failed request in words: reqwest's error turned into an [`HttpError`] that names only the
//! host, with a few plain words for the cause (rustls and I/O errors included) instead of debug
//! text or a URL that may carry a code or key.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use plugboard_core::{HttpError, HttpSettings, sanitize_line};

/// `error` from a request to `host` as an [`HttpError`]; `settings` says which time limit a
/// timeout ran into.
pub(crate) fn http_error(error: reqwest::Error, host: &str, settings: &HttpSettings) -> HttpError {
    // Its message would otherwise end with the whole URL, query and all.
    let error = error.without_url();
    let host = host.to_owned();
    if error.is_timeout() {
        let limit = if error.is_connect() {
            settings.connect_timeout
        } else {
            settings.request_timeout
        };
        return HttpError::Timeout {
            host,
            seconds: whole_seconds(limit),
        };
    }
    let reason = short_reason(&error);
    if error.is_connect() {
        HttpError::Connect { host, reason }
    } else {
        HttpError::Transport { host, reason }
    }
}

/// `limit` in whole seconds, rounded up so a sub-second limit never reads as "0 s".
fn whole_seconds(limit: Duration) -> u64 {
    limit.as_secs() + u64::from(limit.subsec_nanos() > 0)
}

/// A few words on why `error` happened, from the innermost cause: the outer layers' messages
/// name the full URL, which may carry a code or key.
pub(crate) fn short_reason(error: &(dyn StdError + 'static)) -> String {
    let mut innermost = error;
    let mut source = error.source();
    if let Some(words) = tls_words(error) {
        return words;
    }
    while let Some(cause) = source {
        if let Some(words) = tls_words(cause) {
            return words;
        }
        if let Some(io_error) = cause.downcast_ref::<io::Error>()
            && let Some(phrase) = io_phrase(io_error.kind())
        {
            return phrase.to_owned();
        }
        innermost = cause;
        source = cause.source();
    }
    let text = innermost.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    lowercase_first(&sanitize_line(text, 120))
}

/// Words for a TLS failure, when `error` is one (directly, or inside I/O errors, which is how
/// the connection layers pass it up). rustls shows most of its errors as Rust debug text
/// (`invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`), which tells a user
/// nothing.
fn tls_words(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut error = error;
    // I/O errors can nest (hyper wraps the TLS layer's one), and their `source()` skips the
    // error they wrap, so they are unwrapped by hand.
    let tls = loop {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            break tls;
        }
        let inner = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)?;
        error = inner;
    };
    Some(match tls {
        rustls::Error::InvalidCertificate(certificate) => {
            format!(
                "the server's certificate {}",
                certificate_words(certificate)
            )
        }
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".to_owned(),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS (is it plain http?)".to_owned()
        }
        rustls::Error::PeerIncompatible(_) => {
            "the server offers no TLS version or cipher that plugboard accepts".to_owned()
        }
        rustls::Error::AlertReceived(_) => "the server refused the TLS handshake".to_owned(),
        _ => return None,
    })
}

/// What is wrong with the server's certificate, completing "the server's certificate ...".
fn certificate_words(error: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as E;
    match error {
        E::UnknownIssuer => "is not signed by an authority this system trusts",
        E::NotValidForName | E::NotValidForNameContext { .. } => "is for another host name",
        E::Expired | E::ExpiredContext { .. } => "has expired",
        E::NotValidYet | E::NotValidYetContext { .. } => {
            "is not valid yet (is this machine's clock right?)"
        }
        E::Revoked => "has been revoked",
        E::BadEncoding => "is malformed",
        E::BadSignature => "has a bad signature",
        E::UnsupportedSignatureAlgorithmContext { .. }
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "uses a signature algorithm plugboard does not accept"
        }
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => "is not meant for a TLS server",
        E::UnhandledCriticalExtension => "has a critical extension plugboard does not know",
        E::UnknownRevocationStatus
        | E::ExpiredRevocationList
        | E::ExpiredRevocationListContext { .. }
        | E::InvalidOcspResponse => "cannot be checked for revocation",
        E::Other(other) => webpki_words(&format!("{:?}", other.0)),
        _ => "is not valid",
    }
}

/// Words for the verifier's own errors, which rustls passes on only as an opaque `Other`: they
/// are told apart by the name their debug text starts with.
fn webpki_words(debug: &str) -> &'static str {
    let name_end = debug
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(debug.len());
    match &debug[..name_end] {
        "CaUsedAsEndEntity" => "is a certificate authority's, not a server's",
        "EndEntityUsedAsCa" => "chain uses a server's certificate as an authority",
        "CertDistrusted" => "is from an authority that is no longer trusted",
        "RequiredEkuNotFound" | "RequiredEkuNotFoundContext" => "is not meant for a TLS server",
        "NameConstraintViolation" => "breaks its authority's name constraints",
        "PathLenConstraintViolated" | "MaximumPathDepthExceeded" => "chain is too long",
        "InvalidCertValidity" => "has an invalid validity period",
        "UnsupportedCertVersion" => "has a version plugboard does not accept",
        "BadDer" | "BadDerTime" | "MalformedExtensions" | "TrailingData" => "is malformed",
        _ => "is not valid",
    }
}

fn io_phrase(kind: io::ErrorKind) -> Option<&'static str> {
    Some(match kind {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::UnexpectedEof => "connection closed early",
        io::ErrorKind::BrokenPipe => "connection closed",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        io::ErrorKind::AddrNotAvailable => "address not available",
        _ => return None,
    })
}

/// Lowercases the first letter unless it starts an acronym ("TLS", "DNS").
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), second) if !second.is_some_and(char::is_uppercase) => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// A stand-in for the verifier's own error type, which shows itself as its debug text.
    #[derive(Debug)]
    enum VerifierError {
        CaUsedAsEndEntity,
        RequiredEkuNotFoundContext { _wanted: u8 },
        SomethingNew,
    }

    impl fmt::Display for VerifierError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl StdError for VerifierError {}

    #[test]
    fn tls_failures_read_as_words_not_debug_text() {
        use rustls::CertificateError as C;
        use rustls::OtherError;
        use std::sync::Arc;
        let other = |e: VerifierError| C::Other(OtherError(Arc::new(e)));
        let cert = |e: C| rustls::Error::InvalidCertificate(e);
        let cases = [
            (
                cert(other(VerifierError::CaUsedAsEndEntity)),
                "the server's certificate is a certificate authority's, not a server's",
            ),
            (
                cert(other(VerifierError::RequiredEkuNotFoundContext {
                    _wanted: 1,
                })),
                "the server's certificate is not meant for a TLS server",
            ),
            (
                cert(other(VerifierError::SomethingNew)),
                "the server's certificate is not valid",
            ),
            (
                cert(C::UnknownIssuer),
                "the server's certificate is not signed by an authority this system trusts",
            ),
            (
                cert(C::NotValidForName),
                "the server's certificate is for another host name",
            ),
            (cert(C::Expired), "the server's certificate has expired"),
            (
                cert(C::NotValidYet),
                "the server's certificate is not valid yet (is this machine's clock right?)",
            ),
            (
                cert(C::Revoked),
                "the server's certificate has been revoked",
            ),
            (
                cert(C::BadEncoding),
                "the server's certificate is malformed",
            ),
            (
                rustls::Error::NoCertificatesPresented,
                "the server presented no certificate",
            ),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                "the server did not answer in TLS (is it plain http?)",
            ),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
                "the server refused the TLS handshake",
            ),
        ];
        for (tls, words) in cases {
            let shown = tls.to_string();
            // As the connection layers pass it up: inside nested I/O errors inside another error.
            let wrapped = Wrapper(io::Error::other(io::Error::new(
                io::ErrorKind::InvalidData,
                tls,
            )));
            let reason = short_reason(&wrapped);
            assert_eq!(reason, words, "{shown}");
            for debug_text in [
                "Other(",
                "OtherError",
                "CaUsedAsEndEntity",
                "InvalidContentType",
            ] {
                assert!(!reason.contains(debug_text), "{reason}");
            }
        }
    }

    /// An outer error whose cause is an I/O error, like reqwest's and hyper's.
    #[derive(Debug)]
    struct Wrapper(io::Error);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error sending request for url (https://x.test/?code=secret)")
        }
    }

    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_timeout_is_reported_in_whole_seconds_rounded_up() {
        let cases = [(0, 0), (200, 1), (1000, 1), (1001, 2), (30_000, 30)];
        for (millis, seconds) in cases {
            assert_eq!(
                whole_seconds(Duration::from_millis(millis)),
                seconds,
                "{millis}"
            );
        }
    }
}
