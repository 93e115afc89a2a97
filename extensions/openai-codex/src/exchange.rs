//! The code exchange: `POST /oauth/token` with `grant_type=authorization_code`, the code, the
//! redirect URI, the client id and the PKCE verifier, form-encoded as codex-rs's
//! `exchange_code_for_tokens` sends them, answered with an id token, an access token and a
//! refresh token. Every failure becomes one short line; OpenAI's text is shown only sanitised
//! and with the code scrubbed, and no token ever appears in an error.

use plugboard_core::{HttpClient, HttpError, HttpResponse};
use plugboard_http::send_with_retry;
use plugboard_oauth::Authorization;
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::endpoints::{CLIENT_ID, Endpoints};
use crate::jwt::Account;
use crate::service_text::{oauth_said, with_said};
use crate::tokens::{TokenReply, account_of, post, present};

/// What a successful exchange returns.
pub(crate) struct Exchanged {
    pub(crate) access_token: SecretString,
    pub(crate) refresh_token: SecretString,
    pub(crate) expires_in: Option<u64>,
    pub(crate) account: Account,
}

/// Why no tokens came back.
#[derive(Debug, Error)]
pub(crate) enum ExchangeError {
    /// The request never got a complete answer; why is the source, so it is said once.
    #[error("cannot exchange the code with OpenAI")]
    Http(#[source] HttpError),
    /// OpenAI said no.
    #[error("OpenAI answered the code exchange with HTTP {status}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// What it means, with OpenAI's sanitised words.
        message: String,
    },
    /// A 2xx answer that is not what codex-rs reads.
    #[error("OpenAI's answer to the code exchange {0}: try again, and report it if it persists")]
    Malformed(&'static str),
}

/// Exchanges the authorization for tokens. Retried once only where no connection was made or
/// a gateway failed (`send_with_retry`), like every exchange in plugboard.
pub(crate) async fn exchange(
    client: &dyn HttpClient,
    endpoints: &Endpoints,
    authorization: &Authorization,
) -> Result<Exchanged, ExchangeError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", authorization.code.expose_secret())
        .append_pair("redirect_uri", authorization.redirect_uri.as_str())
        .append_pair("client_id", CLIENT_ID)
        .append_pair(
            "code_verifier",
            authorization.pkce.verifier().expose_secret(),
        )
        .finish();
    let request = post(
        endpoints.token_url(),
        "application/x-www-form-urlencoded",
        body.into_bytes(),
    );
    let response = send_with_retry(client, request)
        .await
        .map_err(ExchangeError::Http)?;
    read_reply(&response, authorization.code.expose_secret())
}

fn read_reply(response: &HttpResponse, code: &str) -> Result<Exchanged, ExchangeError> {
    if !response.is_success() {
        let meaning = match response.status {
            400 | 401 | 403 | 404 => {
                "the code was refused (expired, already used, or from another sign-in): run the login again"
            }
            429 => "too many sign-ins: wait a minute and run the login again",
            500..=599 => "OpenAI's sign-in service failed: try again in a minute",
            _ => "unexpected answer: try again, and report it if it persists",
        };
        return Err(ExchangeError::Refused {
            status: response.status,
            message: with_said(meaning, oauth_said(&response.body, code)),
        });
    }
    let reply: TokenReply = serde_json::from_slice(&response.body)
        .map_err(|_| ExchangeError::Malformed("is not the JSON it should be"))?;
    let access_token =
        present(reply.access_token).ok_or(ExchangeError::Malformed("has no access token"))?;
    let refresh_token =
        present(reply.refresh_token).ok_or(ExchangeError::Malformed("has no refresh token"))?;
    let id_token = present(reply.id_token).ok_or(ExchangeError::Malformed("has no id token"))?;
    let account = account_of(Some(id_token.expose_secret()), access_token.expose_secret());
    if account.account_id.is_none() {
        // Every model call names the ChatGPT account; without it nothing would work.
        return Err(ExchangeError::Malformed(
            "names no ChatGPT account (no chatgpt_account_id claim)",
        ));
    }
    Ok(Exchanged {
        access_token,
        refresh_token,
        expires_in: reply.expires_in,
        account,
    })
}

#[cfg(test)]
mod tests {
    use plugboard_core::{ErrorChain, FixedRandom, ScriptedHttp};
    use plugboard_oauth::{CodeVia, LoginSecrets};
    use serde_json::json;

    use super::*;
    use crate::jwt::unsigned;

    fn authorization() -> Authorization {
        Authorization {
            code: "code-1".to_owned().into(),
            pkce: LoginSecrets::generate(&FixedRandom(1)).pkce,
            redirect_uri: "http://localhost:1455/auth/callback".parse().unwrap(),
            via: CodeVia::Loopback,
        }
    }

    fn tokens(id_claims: serde_json::Value) -> String {
        json!({
            "id_token": unsigned(&id_claims),
            "access_token": unsigned(&json!({"exp": 1_700_003_600})),
            "refresh_token": "rt-1",
        })
        .to_string()
    }

    type Replies = Vec<Result<HttpResponse, HttpError>>;

    fn reply(status: u16, body: &str) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse::new(status, body.as_bytes().to_vec()))
    }

    async fn run(replies: Replies) -> Result<Account, String> {
        let client = ScriptedHttp::new(replies);
        let endpoints = Endpoints::resolve(Some("http://127.0.0.1:1"), None).unwrap();
        exchange(&client, &endpoints, &authorization())
            .await
            .map(|e| e.account)
            .map_err(|e| ErrorChain(&e).to_string())
    }

    #[tokio::test]
    async fn the_exchange_posts_the_form_codex_rs_sends() {
        let ok = tokens(json!({"https://api.openai.com/auth": {"chatgpt_account_id": "acc"}}));
        let client = ScriptedHttp::new([reply(200, &ok)]);
        let endpoints = Endpoints::resolve(Some("http://127.0.0.1:1"), None).unwrap();
        let auth = authorization();
        exchange(&client, &endpoints, &auth).await.unwrap();
        let sent = &client.requests()[0];
        assert_eq!(sent.url, "http://127.0.0.1:1/oauth/token");
        assert_eq!(
            sent.headers,
            [(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            )]
        );
        let body = String::from_utf8(sent.body.clone().unwrap()).unwrap();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let verifier = auth.pkce.verifier().expose_secret().to_owned();
        let want: Vec<(String, String)> = [
            ("grant_type", "authorization_code"),
            ("code", "code-1"),
            ("redirect_uri", "http://localhost:1455/auth/callback"),
            ("client_id", CLIENT_ID),
            ("code_verifier", verifier.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(pairs, want);
    }

    #[tokio::test(start_paused = true)]
    async fn exchange_replies_become_tokens_or_one_clear_line() {
        let auth = "https://api.openai.com/auth";
        let with_account = tokens(json!({"email": "u@x.test", auth: {
            "chatgpt_account_id": "acc-1", "chatgpt_plan_type": "pro"}}));
        let cases: Vec<(Replies, Result<Account, &str>)> = vec![
            (
                vec![reply(200, &with_account)],
                Ok(Account {
                    account_id: Some("acc-1".into()),
                    email: Some("u@x.test".into()),
                    plan: Some("pro".into()),
                }),
            ),
            (
                vec![reply(502, ""), reply(200, &with_account)],
                Ok(Account {
                    account_id: Some("acc-1".into()),
                    email: Some("u@x.test".into()),
                    plan: Some("pro".into()),
                }),
            ),
            (
                vec![reply(
                    400,
                    r#"{"error":"invalid_grant","error_description":"Invalid authorization code code-1"}"#,
                )],
                Err(
                    "OpenAI answered the code exchange with HTTP 400: the code was refused (expired, already used, or from another sign-in): run the login again (OpenAI said: Invalid authorization code [redacted])",
                ),
            ),
            (
                vec![reply(500, "<html>oops</html>")],
                Err(
                    "OpenAI answered the code exchange with HTTP 500: OpenAI's sign-in service failed: try again in a minute",
                ),
            ),
            (
                vec![reply(200, "<html>")],
                Err(
                    "OpenAI's answer to the code exchange is not the JSON it should be: try again, and report it if it persists",
                ),
            ),
            (
                vec![reply(200, r#"{"access_token":"a","refresh_token":"r"}"#)],
                Err(
                    "OpenAI's answer to the code exchange has no id token: try again, and report it if it persists",
                ),
            ),
            (
                vec![reply(200, r#"{"id_token":"x.y.z","refresh_token":"r"}"#)],
                Err(
                    "OpenAI's answer to the code exchange has no access token: try again, and report it if it persists",
                ),
            ),
            (
                vec![reply(200, &tokens(json!({"email": "u@x.test"})))],
                Err(
                    "OpenAI's answer to the code exchange names no ChatGPT account (no chatgpt_account_id claim): try again, and report it if it persists",
                ),
            ),
            (
                vec![Err(HttpError::Timeout {
                    host: "127.0.0.1".into(),
                    seconds: 30,
                })],
                Err("cannot exchange the code with OpenAI: no answer from 127.0.0.1 within 30 s"),
            ),
        ];
        for (replies, want) in cases {
            let got = run(replies).await;
            assert_eq!(
                got.as_ref().map_err(String::as_str),
                want.as_ref().map_err(|e| *e)
            );
        }
    }
}
