//! The double's HTML: the consent page and the pages it shows instead when something is wrong.
//! Element ids are stable because browser-driven tests click them.

/// Title of the consent page.
pub const CONSENT_TITLE: &str = "Authorize plugboard \u{2014} OpenRouter double";

/// What the consent page carries into its forms.
pub(crate) struct Consent<'a> {
    pub(crate) callback_url: &'a str,
    pub(crate) code_challenge: &'a str,
    pub(crate) code_challenge_method: &'a str,
}

pub(crate) fn consent_page(consent: &Consent<'_>) -> String {
    let callback = escape(consent.callback_url);
    let challenge = escape(consent.code_challenge);
    let method = escape(consent.code_challenge_method);
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{CONSENT_TITLE}</title></head>
<body>
<h1>Authorize plugboard</h1>
<p>An application asks for an OpenRouter API key. After you decide, this browser goes back to:</p>
<p><code id="callback">{callback}</code></p>
<form id="approve-form" method="post" action="/auth/approve">
<input type="hidden" name="callback_url" value="{callback}">
<input type="hidden" name="code_challenge" value="{challenge}">
<input type="hidden" name="code_challenge_method" value="{method}">
<button type="submit" id="authorize">Authorize</button>
</form>
<form id="deny-form" method="post" action="/auth/deny">
<input type="hidden" name="callback_url" value="{callback}">
<button type="submit" id="deny">Deny</button>
</form>
<p><small>This is a local test double, not openrouter.ai.</small></p>
</body>
</html>
"#
    )
}

pub(crate) fn problem_page(message: &str) -> String {
    let message = escape(message);
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Cannot authorize &#8212; OpenRouter double</title></head>
<body>
<h1>Cannot authorize</h1>
<p id="problem">{message}</p>
</body>
</html>
"#
    )
}

pub(crate) const INDEX_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>OpenRouter double</title></head>
<body>
<h1>OpenRouter double</h1>
<p>A local stand-in for OpenRouter, for testing. API base: <code>/api/v1</code> on this origin.</p>
<ul>
<li><code>GET /auth</code> consent page</li>
<li><code>POST /api/v1/auth/keys</code> code exchange</li>
<li><code>GET /api/v1/key</code> key info</li>
<li><code>POST /api/v1/chat/completions</code> chat</li>
<li><code>GET /api/v1/models</code> model list</li>
</ul>
</body>
</html>
"#;

/// An HTML page in place of JSON, for the `NotJson` fault: what a proxy or captive portal
/// answers.
pub(crate) const NOT_JSON_PAGE: &str = "<!doctype html>\n<html><head><title>Bad gateway</title>\
    </head><body><h1>Something went wrong</h1><p>This is not JSON.</p></body></html>\n";

/// Escapes text for an HTML text node or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    html_escape::encode_safe(text).into_owned()
}

/// Undoes [`escape`], and any other character reference a form value could carry.
pub(crate) fn unescape(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_and_round_trips() {
        let hostile = r#"<script>alert("x")</script> & 'y'"#;
        let escaped = escape(hostile);
        assert!(!escaped.contains('<') && !escaped.contains('"'));
        assert_eq!(unescape(&escaped), hostile);
    }

    #[test]
    fn unescaping_keeps_unknown_entities_and_stray_ampersands() {
        assert_eq!(
            unescape("a &bogus; b & c &#65;&#x42;"),
            "a &bogus; b & c AB"
        );
    }

    #[test]
    fn the_consent_page_escapes_what_it_echoes() {
        let page = consent_page(&Consent {
            callback_url: "http://localhost/cb?state=\"><script>",
            code_challenge: "c",
            code_challenge_method: "S256",
        });
        assert!(!page.contains("<script>"));
        assert!(page.contains(r#"id="authorize""#) && page.contains(r#"id="deny""#));
    }
}
