#!/usr/bin/env python3
"""A plugboard plugin for the host's tests, speaking the plugin protocol (JSON lines on stdin
and stdout) with the standard library only.

It reads its plugin id and provider from the plugin.json in its working directory (the host
starts it in the plugin's folder), and writes its process id to ./pid so a test can check the
host killed it. argv[1] picks how it behaves:

  good         a well-behaved plugin: an api-key sign-in with a relayed secret prompt, and
               model.run / model.list against an OpenAI-style service at the base URL
  env          as good, and first writes the names of its environment variables to stderr
  exit         writes a line to stderr and exits 3 before saying hello
  silent       never says hello
  version      says hello with a protocol version no host speaks
  flood        writes 10 MB on one line, without a newline
  garbage      writes 10 MB of lines that are not JSON
  hang         says hello, then never answers a request
  crash        says hello, then dies in the middle of a sign-in, after a note
  foreign      as good, but its sign-in returns another provider's profile (saying so on
               stderr), and a refresh another profile than the one asked for
  chatty       says hello, then sends notes for ever
  wrong-id     as good, but answers with another request's id
  deaf         says hello, then sends 999 prompts and never reads its input again
  leaky        writes the key it was given (typed at a sign-in, or sent with a model call) to
               stderr, then dies
  leaky-profile  as good, but its sign-in returns the key as the profile id
  leaky-model  as good, but its sign-in suggests the key as the default model
  slow         as good, but takes half a second over every answer
  settings     as good, but a model call replies with the settings it was sent, as JSON
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

MODE = sys.argv[1] if len(sys.argv) > 1 else "good"
with open("plugin.json", encoding="utf-8") as manifest_file:
    MANIFEST = json.load(manifest_file)
PLUGIN = MANIFEST["id"]
PROVIDER = MANIFEST["providers"][0]["id"]
MAX_BODY = 1024 * 1024
_prompts = 0


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def receive():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def failed(request_id, kind, message):
    return {"type": "failed", "id": request_id, "error": {"kind": kind, "message": message}}


def ask(kind, message):
    """Relays a prompt through the host and returns its answer."""
    global _prompts
    _prompts += 1
    send({"type": "prompt", "id": _prompts, "kind": kind, "message": message})
    while True:
        message = receive()
        if message.get("type") == "answer" and message.get("id") == _prompts:
            return message["answer"]


def sign_in(request):
    send({"type": "note", "message": "signing in to " + PROVIDER})
    if MODE == "crash":
        sys.stderr.write("Traceback (most recent call last): boom\n")
        sys.stderr.flush()
        os._exit(1)
    answer = ask("secret", PROVIDER + " API key")
    if "error" in answer:
        kind = "cancelled" if answer["error"]["kind"] == "cancelled" else "invalid_input"
        return failed(request["id"], kind, "no key was given")
    key = answer["secret"].strip()
    if not key.startswith("sk-") or len(key) < 10 or any(c.isspace() or ord(c) < 32 for c in key):
        return failed(request["id"], "invalid_input", "that is not an sk- key")
    profile = request["profile"]
    if MODE == "foreign":
        sys.stderr.write("test plugin: signing in to openrouter instead\n")
        sys.stderr.flush()
        profile = "openrouter:default"
    if MODE == "leaky":
        leak("debug: signing in with " + key)
    if MODE == "leaky-profile":
        profile = key
    suggested = {"default_model": key} if MODE == "leaky-model" else {}
    return {
        "type": "signed_in",
        "id": request["id"],
        "profiles": [
            {
                "profile_id": profile,
                "credential": {"kind": "api_key", "key": key, "provenance": {"auth_flow": "api-key"}},
            }
        ],
        "notes": ["signed in to " + PROVIDER],
        **suggested,
        **minted(),
    }


def leak(line):
    """Writes a line holding a secret to stderr and dies, so the host shows it all."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    os._exit(1)


def minted():
    """In the minted modes, the service issued the key during the sign-in (as an OAuth exchange
    that returns a key does), with a page to revoke it: https, or not."""
    if MODE == "minted":
        return {"issued_remotely": True, "revoke_url": "https://keys.example.test/revoke"}
    if MODE == "minted-plain":
        return {"issued_remotely": True, "revoke_url": "http://keys.example.test/revoke"}
    return {}


def http(request, method, path, body=None):
    """(status, parsed JSON or None), or raises OSError when no answer came."""
    base = (request.get("base_url") or "").rstrip("/")
    credential = request["credential"]
    key = credential.get("key") or credential.get("access_token") or ""
    data = json.dumps(body).encode() if body is not None else None
    outgoing = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=20) as response:
            status, raw = response.status, response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read(MAX_BODY + 1)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def service_failure(request_id, status):
    """The service's refusal as a wire error; its words are never quoted (they may echo the key)."""
    if status == 401:
        kind = "credential_rejected"
    elif status in (402, 429):
        kind = "rate_limited"
    elif status in (400, 403, 404):
        kind = "invalid_request"
    elif status >= 500:
        kind = "service"
    else:
        kind = "bad_response"
    return failed(request_id, kind, "HTTP %d" % status)


def run_model(request):
    if MODE == "settings":
        sent = json.dumps(request.get("settings", "absent"))
        return {"type": "model_reply", "id": request["id"], "outputs": [{"text": sent}]}
    if MODE == "leaky":
        leak("debug: calling the service with " + request["credential"]["key"])
    if not request.get("base_url"):
        return failed(request["id"], "config", "no base URL")
    body = {"model": request["model"], "messages": [{"role": "user", "content": request["prompt"]}]}
    try:
        status, answer = http(request, "POST", "/chat/completions", body)
    except OSError:
        return failed(request["id"], "network", "the service could not be reached")
    if status != 200:
        return service_failure(request["id"], status)
    try:
        text = answer["choices"][0]["message"]["content"]
        if not isinstance(text, str):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        return failed(request["id"], "bad_response", "the answer is not a chat completion")
    return {"type": "model_reply", "id": request["id"], "outputs": [{"text": text}]}


def list_models(request):
    if not request.get("base_url"):
        return failed(request["id"], "config", "no base URL")
    try:
        status, answer = http(request, "GET", "/models")
    except OSError:
        return failed(request["id"], "network", "the service could not be reached")
    if status != 200:
        return service_failure(request["id"], status)
    try:
        ids = [model["id"] for model in answer["data"]]
        if not all(isinstance(i, str) for i in ids):
            raise TypeError
    except (KeyError, TypeError):
        return failed(request["id"], "bad_response", "the answer is not a model list")
    models = [{"id": i, "free": i.endswith(":free")} for i in ids]
    return {"type": "models", "id": request["id"], "models": models}


def refresh(request):
    """Trades the stored refresh token for a new access token, keeping the refresh token unless
    the service sends a new one. With a base URL it asks the service (`POST /token`, as the
    refresh fixtures script it); without one it renews at once."""
    stored = request["credential"]
    if stored.get("kind") != "oauth" or not stored.get("refresh_token"):
        return failed(request["id"], "not_refreshable", "no refresh token")
    renewed = dict(stored, access_token="at-renewed", expires_at=4102444800)
    if request.get("base_url"):
        try:
            status, body = http(request, "POST", "/token", {"refresh_token": stored["refresh_token"]})
        except OSError:
            return failed(request["id"], "network", "the token service could not be reached")
        if status == 400 and isinstance(body, dict) and body.get("error") == "invalid_grant":
            return failed(request["id"], "sign_in_required", "invalid_grant")
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            return failed(request["id"], "bad_response", "HTTP %d" % status)
        renewed["access_token"] = body["access_token"]
        renewed["refresh_token"] = body.get("refresh_token") or stored["refresh_token"]
    elif stored["refresh_token"] == "rt-revoked":
        return failed(request["id"], "sign_in_required", "invalid_grant")
    profile = PROVIDER + ":other" if MODE == "foreign" else request["profile"]
    return {"type": "refreshed", "id": request["id"], "profile": {"profile_id": profile, "credential": renewed}}


def refresh_fixtures():
    """Kept, rotated and refused refreshes, as the contract asks of every refresher."""
    stored = {"kind": "oauth", "access_token": "at-fixture-stored", "refresh_token": "rt-fixture-stored",
              "expires_at": 1700000030, "provenance": {}}
    token = lambda body: {"status": 200, "body": json.dumps(body)}
    case = lambda name, replies, expect: dict(
        name=name, provider=PROVIDER, credential=stored, replies=replies, expect=expect
    )
    return [
        case("the refresh token is kept", [token({"access_token": "at-fixture-new"})],
             {"refreshed": {"access_token": "at-fixture-new", "refresh_token": "rt-fixture-stored"}}),
        case("a rotated refresh token replaces the old one",
             [token({"access_token": "at-fixture-new2", "refresh_token": "rt-fixture-rotated"})],
             {"refreshed": {"access_token": "at-fixture-new2", "refresh_token": "rt-fixture-rotated"}}),
        case("a refused refresh needs a sign-in",
             [{"status": 400, "body": json.dumps({"error": "invalid_grant"})}], "sign_in_required"),
    ]


def fixtures():
    secret = lambda key: {"secret": key}
    sign_in_case = lambda name, expect, answers, **extra: dict(
        name=name, provider=PROVIDER, method="api-key", expect=expect, answers=answers, **extra
    )
    chat = json.dumps({"choices": [{"message": {"role": "assistant", "content": "hello from the script"}}]})
    rejected = {"status": 401, "body": json.dumps({"error": {"code": 401, "message": "User not found."}})}
    return {
        "sign_in": [
            sign_in_case("pasted key is stored", "succeeds", [secret("sk-test-0123456789")]),
            sign_in_case("--profile names the profile", "succeeds", [secret("sk-test-0123456789")], profile="work"),
            sign_in_case("empty key is refused", "fails", [secret("")]),
            sign_in_case("cancelled prompt writes nothing", "fails", ["cancel"]),
            sign_in_case("no input writes nothing", "fails", []),
        ],
        "model": [
            {"name": "a reply", "provider": PROVIDER, "model": "test-model", "prompt": "Say hello.",
             "replies": [{"status": 200, "body": chat}], "expect": {"replies": "hello from the script"}},
            {"name": "a 401 is a rejected key", "provider": PROVIDER, "model": "test-model", "prompt": "Hi",
             "replies": [rejected], "expect": {"fails": "credential_rejected"}},
        ],
        "list": [
            {"name": "the models in order", "provider": PROVIDER,
             "replies": [{"status": 200, "body": json.dumps({"data": [{"id": "a:free"}, {"id": "b"}]})}],
             "expect": {"lists": {"ids": ["a:free", "b"], "free": ["a:free"]}}},
        ],
        "service_errors": [
            {"provider": PROVIDER, "rejected": rejected,
             "error_with_message": {"status": 500, "body": json.dumps({"error": {"message": "{message}"}})}},
        ],
    }


def answer(request):
    kind = request["type"]
    if kind == "sign_in":
        return sign_in(request)
    if kind == "run_model":
        return run_model(request)
    if kind == "list_models":
        return list_models(request)
    if kind == "refresh":
        return refresh(request)
    if kind == "list_fixtures":
        declared = fixtures()
        if MODE == "refresh-fixtures":
            declared = {"refresh": refresh_fixtures()}
        return {"type": "fixtures", "id": request["id"], "fixtures": declared}
    return failed(request["id"], "unsupported", "not handled: " + kind)


def main():
    os.umask(0o077)
    with open("pid", "w", encoding="utf-8") as pid_file:
        pid_file.write(str(os.getpid()))
    if MODE == "env":
        sys.stderr.write("env: " + ",".join(sorted(os.environ)) + "\n")
        sys.stderr.flush()
    if MODE == "exit":
        sys.stderr.write("test plugin: giving up\n")
        sys.exit(3)
    if MODE == "silent":
        time.sleep(3600)
    if MODE == "flood":
        sys.stdout.write("x" * 10_000_000)
        sys.stdout.flush()
        time.sleep(3600)
    if MODE == "garbage":
        line = "garbage " * 12 + "\n"
        sys.stdout.write(line * (10_000_000 // len(line)))
        sys.stdout.flush()
        time.sleep(3600)
    versions = [99] if MODE == "version" else [1]
    send({"type": "hello", "plugin": PLUGIN, "version": "0.1.0", "versions": versions})
    start = receive()
    if start.get("type") != "start":
        sys.exit(2)
    if MODE == "deaf":
        for prompt in range(1, 1000):
            send({"type": "prompt", "id": prompt, "kind": "text", "message": "are you there?"})
        time.sleep(3600)
    while True:
        request = receive()
        if MODE == "hang":
            time.sleep(3600)
        if MODE == "chatty":
            while True:
                send({"type": "note", "message": "still here"})
        if MODE == "slow":
            time.sleep(0.5)
        reply = answer(request)
        if MODE == "wrong-id":
            reply["id"] += 1000
        send(reply)


if __name__ == "__main__":
    main()
