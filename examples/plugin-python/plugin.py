#!/usr/bin/env python3
"""The example executable plugin in Python: a provider `example-python` that signs in with an
OpenRouter API key (the host relays the prompt) and runs models through OpenRouter's
OpenAI-compatible chat completions API.

It speaks the plugboard plugin protocol (docs/protocol/*.schema.json) with the standard library
only: one JSON object per line on stdin and stdout. Nothing but protocol lines may reach stdout,
so protocol lines go to a copy of it, each flushed, and stdout itself (file descriptor 1, and
`sys.stdout`) is pointed at stderr at once: a stray print(), a child process or a C library
writing there lands on stderr, which the host shows (sanitised) on failure or with --verbose.

OpenRouter's request and error shapes: https://openrouter.ai/docs/api-reference/chat-completion
and https://openrouter.ai/docs/api/reference/errors-and-debugging.
"""

import http.client
import ipaddress
import json
import os
import socket
import sys
import unicodedata
import urllib.error
import urllib.parse
import urllib.request

PLUGIN_ID = "example-python"
PROVIDER_ID = "example-python"
VERSION = "0.1.0"
# Protocol versions this plugin speaks.
VERSIONS = [1]
# The longest line either side may send, newline excluded.
MAX_LINE_BYTES = 1024 * 1024
# OpenRouter, unless the host sends another base URL.
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
SERVICE = "OpenRouter"
# Shorter than the host's default request timeout (30 s), so a slow service is reported as
# such rather than as a plugin that hung.
HTTP_TIMEOUT_SECS = 25
# A completion is text: 1 MiB is plenty, and a broken answer cannot fill memory.
MAX_RESPONSE_BYTES = 1024 * 1024
# Longest piece of the service's own words shown in an error.
MAX_SERVICE_TEXT = 120
# A run of this many characters of the key counts as showing it (as plugboard's scrubber says).
MIN_SECRET_RUN = 8
MAX_API_KEY_LEN = 4096

# Protocol lines go to a copy of stdout; file descriptor 1 itself then points at stderr, so
# whatever else writes there (print(), a child process, a C library) cannot break the protocol.
sys.stdout.flush()
PROTOCOL_OUT = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="\n")
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
sys.stdout = sys.stderr


class ProtocolError(Exception):
    """The host and the plugin no longer understand each other: the plugin exits."""


class Failure(Exception):
    """A request that failed, with its protocol error kind and one line for the user."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def send(message):
    PROTOCOL_OUT.write(json.dumps(message, separators=(",", ":")) + "\n")
    PROTOCOL_OUT.flush()


def log(text):
    sys.stderr.write(f"{PLUGIN_ID}: {text}\n")
    sys.stderr.flush()


def read_message(stdin):
    """The host's next message, or None when its input ends."""
    # Two bytes of slack for "\r\n": a longer line is refused without reading it all.
    line = stdin.readline(MAX_LINE_BYTES + 2)
    if not line:
        return None
    content = line[:-1] if line.endswith(b"\n") else line
    if content.endswith(b"\r"):
        content = content[:-1]
    if len(content) > MAX_LINE_BYTES:
        raise ProtocolError("a line from the host is longer than the protocol allows")
    try:
        message = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("a line from the host is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a line from the host is not a protocol message")
    return message


# --- text made safe: what plugboard's scrub_secret and sanitize_line do -----------------------


def ignored_in_secrets(c):
    # Controls and format characters (zero-width, soft hyphen, direction marks) do not change
    # how an echoed key reads, so the comparison skips them.
    return unicodedata.category(c) in ("Cc", "Cf")


def scrub_secret(text, secret):
    """`text` with every run of MIN_SECRET_RUN or more characters of `secret` replaced by
    [redacted], compared ignoring case and invisible characters."""
    key = [c.lower() for c in secret if not ignored_in_secrets(c)]
    if not key:
        return text
    run = min(MIN_SECRET_RUN, len(key))
    pieces = {tuple(key[i : i + run]) for i in range(len(key) - run + 1)}
    kept = [(i, c.lower()) for i, c in enumerate(text) if not ignored_in_secrets(c)]
    covered = [False] * len(kept)
    for at in range(len(kept) - run + 1):
        if tuple(c for _, c in kept[at : at + run]) in pieces:
            for j in range(at, at + run):
                covered[j] = True
    out, last, at = [], 0, 0
    while at < len(kept):
        if not covered[at]:
            at += 1
            continue
        first = at
        while at < len(kept) and covered[at]:
            at += 1
        start, end = kept[first][0], kept[at - 1][0] + 1
        out.append(text[last:start])
        out.append("[redacted]")
        last = end
    out.append(text[last:])
    return "".join(out)


def sanitize_line(text, max_chars):
    """One line safe to show: controls and invisible characters removed, whitespace runs as
    one space, cut at max_chars."""
    words = "".join(" " if c.isspace() else c for c in text if not ignored_in_secrets(c) or c.isspace())
    line = " ".join(words.split())
    if len(line) > max_chars:
        line = line[:max_chars] + "…"
    return line


# --- sign-in ---------------------------------------------------------------------------------


class Session:
    def __init__(self, stdin):
        self.stdin = stdin
        self.next_id = 1

    def prompt(self, kind, message):
        """Asks the host; returns its answer object, after any other line it sends."""
        prompt_id = self.next_id
        self.next_id += 1
        send({"type": "prompt", "id": prompt_id, "kind": kind, "message": message})
        while True:
            reply = read_message(self.stdin)
            if reply is None:
                raise Failure("invalid_input", "no input: standard input ended before an answer was given")
            if reply.get("type") == "answer" and reply.get("id") == prompt_id:
                return reply.get("answer")
            log(f"ignored a {sanitize_line(reply['type'], 40)} message while waiting for an answer")


def validate_api_key(raw):
    key = raw.strip(" \r\n")
    if len(key.encode("utf-8")) > MAX_API_KEY_LEN:
        raise Failure("invalid_input", f"api key is longer than {MAX_API_KEY_LEN} bytes: paste just the key")
    if any(unicodedata.category(c) == "Cc" for c in key):
        raise Failure("invalid_input", "api key contains control characters: paste just the key")
    if not key:
        raise Failure("invalid_input", "api key is empty: paste the whole key")
    if any(c.isspace() for c in key):
        raise Failure("invalid_input", "api key contains spaces: paste just the key")
    return key


def sign_in(session, request):
    if request.get("method") != "api-key":
        raise Failure("unsupported", f"provider {PROVIDER_ID} has no sign-in method {request.get('method')!r}")
    # `provider:name` as the protocol sends it; a bare name is taken as one of this provider's.
    profile = request.get("profile") or "default"
    if ":" not in profile:
        profile = f"{PROVIDER_ID}:{profile}"
    provider, _, name = profile.partition(":")
    if provider != PROVIDER_ID or not name:
        raise Failure("invalid_input", f"{sanitize_line(profile, 80)!r} is not a profile of provider {PROVIDER_ID}")
    answer = session.prompt("secret", "OpenRouter API key")
    if isinstance(answer, dict) and "error" in answer:
        kind = (answer["error"] or {}).get("kind")
        if kind == "cancelled":
            raise Failure("cancelled", "sign-in cancelled")
        if kind == "end_of_input":
            raise Failure("invalid_input", "no input: standard input ended before an answer was given")
        raise Failure("invalid_input", "the host could not ask for the key")
    if not isinstance(answer, dict) or not isinstance(answer.get("secret"), str):
        raise Failure("invalid_input", "the host did not answer the key prompt with a secret")
    key = validate_api_key(answer["secret"])
    credential = {
        "kind": "api_key",
        "key": key,
        "provenance": {"auth_flow": "api-key", "method": "api-key"},
    }
    return {"type": "signed_in", "profiles": [{"profile_id": profile, "credential": credential}]}


# --- model.run --------------------------------------------------------------------------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects by default, with the Authorization header; the key must never
    go anywhere but the base URL, so a redirect is an answer like any other."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(request):
    """The base URL the host sent (else OpenRouter): https, or plain http to this machine only,
    and never with a user name or password in it."""
    raw = (request.get("base_url") or "").strip() or DEFAULT_BASE_URL
    try:
        url = urllib.parse.urlsplit(raw)
        url.port  # A port that is not a number raises here rather than mid-request.
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.hostname:
        raise Failure("config", f"the base URL is not an http(s) URL with a host: use e.g. {DEFAULT_BASE_URL}")
    if url.username or url.password:
        raise Failure("config", "the base URL carries a user name or password: remove the part before @")
    if url.scheme == "http" and not is_loopback(url.hostname):
        raise Failure("config", "the base URL uses http:// for a host other than this machine: use https")
    return urllib.parse.urlunsplit((url.scheme, url.netloc, url.path.rstrip("/"), "", ""))


def said(body, key):
    """OpenRouter's `error.message`, with the key scrubbed first, made safe to show."""
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(message, str):
        return None
    return sanitize_line(scrub_secret(message, key), MAX_SERVICE_TEXT) or None


def with_said(meaning, body, key):
    words = said(body, key)
    return f"{meaning} ({SERVICE} said: {words})" if words else meaning


def refusal(status, body, key):
    answered = lambda meaning: with_said(f"{SERVICE} answered HTTP {status}: {meaning}", body, key)
    if status == 401:
        words = said(body, key)
        return Failure("credential_rejected", f"HTTP 401 ({words})" if words else "HTTP 401")
    if status == 402:
        return Failure("rate_limited", answered("the account is out of credits"))
    if status == 429:
        return Failure("rate_limited", answered("too many requests: wait a minute and try again"))
    if status == 403:
        return Failure("invalid_request", answered("the input was flagged by the model's moderation"))
    if status == 408 or 500 <= status <= 599:
        return Failure("service", answered("try again in a minute, or another model"))
    if 400 <= status <= 499:
        return Failure("invalid_request", answered("the request was refused: check the model id"))
    return Failure("service", answered("unexpected answer"))


def bad_answer(what):
    return Failure("bad_response", f"{SERVICE}'s answer to the model call {what}: try again, and report it if it persists")


def host_label(url):
    """The host (and port, unless the scheme's own) a failure names, as plugboard's client does."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{parts.port}" if parts.port and parts.port != default_port else host


def unreachable(host, cause, connecting):
    """A request that got no complete answer, in the words plugboard's own client uses. Only the
    cause: plugboard says which service could not be reached. It names the host and what went
    wrong, never the key (which is in a header)."""
    if isinstance(cause, (socket.timeout, TimeoutError)):
        return Failure("network", f"no answer from {host} within {HTTP_TIMEOUT_SECS} s")
    words = sanitize_line(getattr(cause, "strerror", None) or str(cause) or type(cause).__name__, MAX_SERVICE_TEXT)
    words = words[:1].lower() + words[1:]
    if connecting:
        return Failure("network", f"cannot connect to {host}: {words}")
    return Failure("network", f"the connection to {host} failed: {words}")


def post(url, key, payload):
    """(status, body) of a POST, with the key as a Bearer token."""
    data = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key}",
            "User-Agent": f"{PLUGIN_ID}/{VERSION}",
        },
    )
    host = host_label(url)
    try:
        with OPENER.open(req, timeout=HTTP_TIMEOUT_SECS) as response:
            return response.status, read_bounded(response, host)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, read_bounded(error, host)
    except urllib.error.URLError as error:
        # urllib wraps what fails before the request is sent: connecting, TLS.
        raise unreachable(host, error.reason, connecting=True) from None
    except (OSError, http.client.HTTPException) as error:
        # The answer broke off, timed out, or was not HTTP.
        raise unreachable(host, error, connecting=False) from None


def read_bounded(response, host):
    body = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise Failure("bad_response", f"the response from {host} is larger than {MAX_RESPONSE_BYTES} bytes")
    return body


def run_model(request):
    credential = request.get("credential") or {}
    key = credential.get("key")
    if credential.get("kind") != "api_key" or not isinstance(key, str):
        raise Failure("config", "this provider needs an API key credential")
    url = base_url(request) + "/chat/completions"
    payload = {"model": request.get("model", ""), "messages": [{"role": "user", "content": request.get("prompt", "")}]}
    status, body = post(url, key, payload)
    if status < 200 or status > 299:
        raise refusal(status, body, key)
    try:
        completion = json.loads(body)
    except ValueError:
        raise bad_answer("is not the JSON it should be") from None
    if not isinstance(completion, dict):
        raise bad_answer("is not the JSON it should be")
    if completion.get("error") is not None:
        raise Failure("service", with_said("OpenRouter could not complete the request: try again, or another model", body, key))
    choices = completion.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise bad_answer("is not the JSON it should be")
    outputs = []
    for choice in choices:
        message = choice.get("message")
        if message is not None and not isinstance(message, dict):
            raise bad_answer("is not the JSON it should be")
        content = (message or {}).get("content")
        if isinstance(content, str):
            outputs.append({"text": content})
        elif isinstance(content, list):
            # Content may come as typed parts; the text parts make the output.
            texts = (p.get("text") for p in content if isinstance(p, dict))
            outputs.append({"text": "".join(t for t in texts if isinstance(t, str))})
    if not outputs:
        raise bad_answer("has no choices")
    return {"type": "model_reply", "outputs": outputs}


# --- fixtures ---------------------------------------------------------------------------------


def fixtures():
    def error_body(code, message):
        return json.dumps({"error": {"code": code, "message": message}})

    def sign_in_case(name, expect, answers, profile=None):
        case = {"name": name, "provider": PROVIDER_ID, "method": "api-key", "expect": expect, "answers": answers}
        if profile:
            case["profile"] = profile
        return case

    def model_case(name, replies, expect):
        return {
            "name": name,
            "provider": PROVIDER_ID,
            "model": "openai/gpt-4o-mini",
            "prompt": "Say hello.",
            "replies": replies,
            "expect": expect,
        }

    key = {"secret": "sk-or-v1-example-fixture-key-0002"}
    text = "Hello from the Python example plugin."
    completion = json.dumps({"id": "gen-fixture", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
    rejected = {"status": 401, "body": error_body(401, "User not found.")}
    return {
        "sign_in": [
            sign_in_case("a pasted key is stored", "succeeds", [key]),
            sign_in_case("a pasted key is stored under the profile asked for", "succeeds", [key], "work"),
            sign_in_case("an empty key is refused", "fails", [{"secret": "  "}]),
            sign_in_case("a cancelled prompt stores nothing", "fails", ["cancel"]),
        ],
        "model": [
            model_case("a completion's first choice is the reply", [{"status": 200, "body": completion}], {"replies": text}),
            model_case("a 401 is a rejected key", [rejected], {"fails": "credential_rejected"}),
            model_case("a 429 is rate limiting", [{"status": 429, "body": error_body(429, "Rate limit exceeded")}], {"fails": "rate_limited"}),
            model_case("a 200 that is not JSON is a bad response", [{"status": 200, "body": "<html>maintenance</html>"}], {"fails": "bad_response"}),
        ],
        "list": [],
        "service_errors": [
            {
                "provider": PROVIDER_ID,
                "rejected": rejected,
                "error_with_message": {"status": 400, "body": error_body(400, "{message}")},
            }
        ],
    }


# --- the session ------------------------------------------------------------------------------

REQUESTS = ("sign_in", "refresh", "run_model", "list_models", "list_fixtures")


def answer(session, request):
    kind = request["type"]
    if kind == "list_fixtures":
        return {"type": "fixtures", "fixtures": fixtures()}
    if request.get("provider") != PROVIDER_ID:
        raise Failure("unsupported", f"plugin {PLUGIN_ID} has no provider {request.get('provider')!r}")
    if kind == "sign_in":
        return sign_in(session, request)
    if kind == "run_model":
        return run_model(request)
    if kind in REQUESTS:
        raise Failure("unsupported", f"provider {PROVIDER_ID} does not handle {kind}")
    raise Failure("unsupported", f"this plugin does not handle {sanitize_line(kind, 40)!r} requests")


def serve(stdin):
    send({"type": "hello", "plugin": PLUGIN_ID, "version": VERSION, "versions": VERSIONS})
    start = read_message(stdin)
    if start is None:
        return
    if start.get("type") != "start":
        raise ProtocolError("the host's first message was not start")
    if start.get("version") not in VERSIONS:
        raise ProtocolError(f"the host chose protocol version {start.get('version')!r}, which this plugin does not speak")
    session = Session(stdin)
    while True:
        request = read_message(stdin)
        if request is None:
            return
        request_id = request.get("id")
        if request["type"] in ("answer", "start") or not isinstance(request_id, int):
            log(f"ignored a {sanitize_line(request['type'], 40)} message outside a request")
            continue
        try:
            reply = answer(session, request)
        except Failure as failure:
            reply = {"type": "failed", "error": {"kind": failure.kind, "message": failure.message}}
        except Exception as error:  # A bug here fails this request, never the plugin.
            log(f"failed handling {request['type']}: {type(error).__name__}")
            reply = {"type": "failed", "error": {"kind": "internal", "message": f"the plugin failed handling {request['type']}"}}
        # The request's id right after the type, as the Rust SDK writes it.
        send({"type": reply.pop("type"), "id": request_id, **reply})


def main():
    try:
        serve(sys.stdin.buffer)
    except ProtocolError as error:
        log(str(error))
        return 1
    except BrokenPipeError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
