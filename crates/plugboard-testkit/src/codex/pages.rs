//! The Codex double's HTML: the consent page and the page it shows instead when the
//! authorization request is invalid. Button ids match the OpenRouter double's (`authorize`,
//! `deny`), so the scripted browser ([`approve`](crate::approve), [`deny`](crate::deny)) and a
//! real browser follow both the same way.

use crate::html::escape;

/// Title of the Codex double's consent page.
pub const CODEX_CONSENT_TITLE: &str = "Sign in to Codex \u{2014} OpenAI Codex double";

/// The authorization request's parameters, carried into both forms as hidden fields so the
/// approve and deny handlers can check the request again (a form can be forged).
pub(super) fn consent_page(params: &[(&str, &str)], redirect_uri: &str, email: &str) -> String {
    let hidden: String = params
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let redirect = escape(redirect_uri);
    let email = escape(email);
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{CODEX_CONSENT_TITLE}</title></head>
<body>
<h1>Sign in to Codex with ChatGPT</h1>
<p>Signed in as <code id="email">{email}</code>. Codex asks to use your ChatGPT account. After you decide, this browser goes back to:</p>
<p><code id="callback">{redirect}</code></p>
<form id="approve-form" method="post" action="/oauth/authorize/approve">
{hidden}<button type="submit" id="authorize">Continue</button>
</form>
<form id="deny-form" method="post" action="/oauth/authorize/deny">
{hidden}<button type="submit" id="deny">Cancel</button>
</form>
<p><small>This is a local test double, not auth.openai.com.</small></p>
</body>
</html>
"#
    )
}

pub(super) fn problem_page(message: &str) -> String {
    let message = escape(message);
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorization error &#8212; OpenAI Codex double</title></head>
<body>
<h1>Authorization error</h1>
<p id="problem">{message}</p>
</body>
</html>
"#
    )
}

pub(super) const INDEX_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>OpenAI Codex double</title></head>
<body>
<h1>OpenAI Codex double</h1>
<p>A local stand-in for ChatGPT sign-in and the Codex backend, for testing.</p>
<ul>
<li><code>GET /oauth/authorize</code> consent page</li>
<li><code>POST /oauth/token</code> code exchange and refresh</li>
<li><code>POST /backend-api/codex/responses</code> Responses (server-sent events)</li>
</ul>
</body>
</html>
"#;
