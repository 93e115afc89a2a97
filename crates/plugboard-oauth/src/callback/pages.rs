//! The pages the browser sees after a callback: their wording, and the one HTML template
//! (`assets/page.html`) they are filled into with escaped values. The pages load nothing from
//! anywhere: inline style, no scripts, no links.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::CallbackOutcome;

/// Every page's markup; `{{title}}` and `{{message}}` are filled in by [`fill`].
const TEMPLATE: &str = include_str!("../../assets/page.html");
const TITLE: &str = "{{title}}";
const MESSAGE: &str = "{{message}}";

/// A request for a path other than the callback's.
pub(super) fn not_found() -> Response<Full<Bytes>> {
    page(StatusCode::NOT_FOUND, "Not found", "There is nothing here.")
}

/// A request with the callback's path but not `GET`.
pub(super) fn method_not_allowed() -> Response<Full<Bytes>> {
    let mut response = page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "This address only answers GET.",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// A callback without this login's state: a stray request, or another sign-in's.
pub(super) fn not_this_sign_in() -> Response<Full<Bytes>> {
    page(
        StatusCode::BAD_REQUEST,
        "Not part of a sign-in in progress",
        "This request does not belong to the sign-in waiting here, so it was ignored. \
         If you are signing in, use the link your terminal shows.",
    )
}

/// A callback with the right state but neither a code nor an error.
pub(super) fn incomplete() -> Response<Full<Bytes>> {
    page(
        StatusCode::BAD_REQUEST,
        "Sign-in response incomplete",
        "The sign-in response carried no code. Finish the sign-in in this browser, or \
         return to the terminal and start again.",
    )
}

/// The page for the callback that ended the login with `outcome`, at `service_name`.
pub(super) fn outcome(service_name: &str, outcome: &CallbackOutcome) -> Response<Full<Bytes>> {
    let service = escape_html(service_name);
    match outcome {
        CallbackOutcome::Code(_) => page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "You are signed in to {service}. You can close this tab and return to the terminal."
            ),
        ),
        CallbackOutcome::Denied { error, description } => {
            let reason = match description {
                Some(description) => format!("{error}: {description}"),
                None => error.clone(),
            };
            page(
                StatusCode::OK,
                "Sign-in not completed",
                &format!(
                    "{service} did not grant access ({}). Return to the terminal to try again.",
                    escape_html(&reason)
                ),
            )
        }
    }
}

/// A right-state callback after the login already ended.
pub(super) fn already_finished() -> Response<Full<Bytes>> {
    page(
        StatusCode::CONFLICT,
        "Sign-in already finished",
        "This sign-in has already finished. You can close this tab and return to the terminal.",
    )
}

/// The template filled in, with the headers that keep the page from loading or leaking
/// anything. `message_html` must already be escaped.
fn page(status: StatusCode, title: &str, message_html: &str) -> Response<Full<Bytes>> {
    let html = fill(&escape_html(title), message_html);
    let mut response = Response::new(Full::new(Bytes::from(html)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// [`TEMPLATE`] with its placeholders replaced in one pass, so a value that happens to contain
/// a placeholder's text is shown as it is rather than filled in again.
fn fill(title_html: &str, message_html: &str) -> String {
    let mut html =
        String::with_capacity(TEMPLATE.len() + 2 * title_html.len() + message_html.len());
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        html.push_str(&rest[..start]);
        rest = &rest[start..];
        let (value, placeholder) = if rest.starts_with(TITLE) {
            (title_html, TITLE)
        } else if rest.starts_with(MESSAGE) {
            (message_html, MESSAGE)
        } else {
            ("{{", "{{")
        };
        html.push_str(value);
        rest = &rest[placeholder.len()..];
    }
    html.push_str(rest);
    html
}

/// Escapes text for an HTML element's content or a quoted attribute.
fn escape_html(text: &str) -> String {
    html_escape::encode_safe(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_html_escapes_markup_and_quotes() {
        let cases = [
            ("plain text", "plain text"),
            ("<script>", "&lt;script&gt;"),
            ("a & b", "a &amp; b"),
            ("\"double\"", "&quot;double&quot;"),
            ("'single'", "&#x27;single&#x27;"),
            ("a/b", "a&#x2F;b"),
            ("&amp;", "&amp;amp;"),
            ("ünïcödé", "ünïcödé"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(escape_html(input), want, "{input}");
        }
    }

    #[test]
    fn the_template_is_filled_once_and_a_placeholder_inside_a_value_stays_text() {
        let html = fill("{{message}} title", "message {{title}}");
        assert_eq!(
            html.matches("<title>{{message}} title</title>").count(),
            1,
            "{html}"
        );
        assert_eq!(
            html.matches("<h1>{{message}} title</h1>").count(),
            1,
            "{html}"
        );
        assert_eq!(
            html.matches("<p>message {{title}}</p>").count(),
            1,
            "{html}"
        );
        assert_eq!(html.matches("{{").count(), 3, "{html}");
    }
}
