"""Hostile tokens, as a platform's backend hands them to jitsi_stack.access.tokens (a library: the
tokens come from clients), and hostile arguments to mint: every case is a one-line verdict
(or the module's own UsageError), never another exception, never the secret, never a hang.

Numbers at their limits (huge, negative, float, NaN, infinity, bool) in exp, nbf and iat;
claims of every JSON type; malformed structure (parts, base64, JSON, nesting, size); the
header's typ and alg (none included)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time

import pytest

from jitsi_stack.access import tokens
from jitsi_stack.errors import UsageError

NOW = 1_800_000_000
SECRET = "k9Qw2LmZx7Rt4Yp1Vb8Nc3Hs6Jd0Fg5Ua2Ei7Ko3Pl"
APP = "callcenter"
MAX_MESSAGE = 400  # a verdict is one readable line


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(header: str | bytes, payload: str | bytes, secret: str = SECRET) -> str:
    """A token of these exact header and payload texts, signed HS256 with secret."""
    h = b64(header if isinstance(header, bytes) else header.encode())
    p = b64(payload if isinstance(payload, bytes) else payload.encode())
    mac = hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(mac)}"


HEADER = '{"alg":"HS256","typ":"JWT"}'
GOOD = {
    "iss": APP,
    "aud": APP,
    "sub": "meet.jitsi",
    "room": "*",
    "nbf": NOW - 30,
    "exp": NOW + 3600,
}


def claims(**changes) -> str:
    """The good payload with raw JSON texts put in (or a key removed with None)."""
    parts = []
    for key, value in GOOD.items():
        if key in changes:
            continue
        parts.append(f'"{key}":{json.dumps(value)}')
    for key, raw in changes.items():
        if raw is not None:
            parts.append(f'"{key}":{raw}')
    return "{" + ",".join(parts) + "}"


# -- numbers at their limits: (claim, raw JSON, expected rule) ------------------------
NUMBERS = {
    "huge-int": ("1" + "0" * 30, None),
    "huge-int-4000-digits": ("9" * 4000, None),
    "huge-int-5000-digits": ("9" * 5000, "malformed"),  # beyond Python's int digits limit
    "negative": ("-1", None),
    "negative-huge": ("-" + "9" * 40, None),
    "zero": ("0", None),
    "float": ("1800003600.5", None),
    "float-tiny": ("1e-300", None),
    "float-max": ("1.7976931348623157e308", None),
    "float-overflow": ("1e400", "claims"),  # json reads it as infinity
    "float-negative-overflow": ("-1e400", "claims"),
    "nan": ("NaN", "claims"),
    "infinity": ("Infinity", "claims"),
    "minus-infinity": ("-Infinity", "claims"),
    "true": ("true", None),
    "false": ("false", None),
    "null": ("null", None),
    "string-number": ('"1800003600"', None),
    "string-empty": ('""', None),
    "list": ("[1800003600]", None),
    "object": ('{"t":1}', None),
    "exponent": ("18e8", None),
    "negative-zero": ("-0", None),
}


def _number_cases():
    for claim in ("exp", "nbf", "iat"):
        for name, (raw, rule) in NUMBERS.items():
            yield pytest.param(claim, raw, rule, id=f"{claim}-{name}")


@pytest.mark.parametrize(("claim", "raw", "rule"), list(_number_cases()))
def test_time_claims_at_their_limits_get_a_one_line_verdict(claim, raw, rule):
    token = signed(HEADER, claims(**{claim: raw}))
    verdict = _check(token)
    if claim == "iat":  # prosody reads no iat: whatever it holds, the token stands
        assert verdict.ok or rule == "malformed", verdict
    elif rule is not None:
        assert verdict.rule == rule, verdict
    value = _parsed(raw)
    if claim in ("exp", "nbf") and isinstance(value, float) and not math.isfinite(value):
        assert verdict.rule == "claims" and "finite" in verdict.message, verdict


def _parsed(raw: str):
    try:
        return json.loads(raw)
    except ValueError:
        return None


# -- other claims of every type -------------------------------------------------------
ODD_VALUES = {
    "int": "42",
    "huge-int": "9" * 400,
    "float": "4.2",
    "nan": "NaN",
    "inf": "Infinity",
    "true": "true",
    "false": "false",
    "null": "null",
    "list": '["a","b"]',
    "list-nested": '[["callcenter"]]',
    "object": '{"a":1}',
    "empty": '""',
    "newline": '"a\\nb"',
    "control": '"\\u0000\\u001b[31m"',
    "long": '"' + "x" * 100_000 + '"',
    "surrogate": '"\\ud800"',
    "star-list": '["*"]',
}


def _claim_cases():
    for claim in ("iss", "aud", "room", "sub", "context"):
        for name, raw in ODD_VALUES.items():
            yield pytest.param(claim, raw, id=f"{claim}-{name}")


@pytest.mark.parametrize(("claim", "raw"), list(_claim_cases()))
def test_claims_of_every_type_get_a_one_line_verdict(claim, raw):
    verdict = _check(signed(HEADER, claims(**{claim: raw})), room="Sales")
    if claim in ("iss", "aud") and raw not in ('"*"',):
        assert not verdict.ok, verdict
    if claim == "room":
        assert verdict.rule == "room", verdict


# -- structure -------------------------------------------------------------------------
def _nested(depth: int) -> str:
    return claims(context="[" * depth + "]" * depth)


STRUCTURE = {
    "empty": ("", "malformed"),
    "spaces": ("   ", "malformed"),
    "one-dot": (".", "malformed"),
    "two-dots": ("..", "malformed"),
    "two-parts": ("a.b", "malformed"),
    "four-parts": (signed(HEADER, claims()) + ".x", "malformed"),
    "bad-base64-char": ("a*b.c.d", "malformed"),
    "base64-plus": (b64(HEADER.encode()) + "+." + b64(claims().encode()) + ".abc", "malformed"),
    "base64-padding-only": ("====.====.====", "malformed"),
    "non-ascii": ("é.é.é", "malformed"),
    "nul": ("\0.\0.\0", "malformed"),
    "header-not-json": (signed("not json", claims()), "malformed"),
    "header-number": (signed("42", claims()), "malformed"),
    "header-null": (signed("null", claims()), "malformed"),
    "header-array": (signed("[]", claims()), "typ"),
    "header-string": (signed('"JWT"', claims()), "typ"),
    "header-latin1": (signed(b'{"alg":"HS256","typ":"JWT","x":"\xff"}', claims()), "malformed"),
    "payload-not-json": (signed(HEADER, "{"), "malformed"),
    "payload-number": (signed(HEADER, "42"), "malformed"),
    "payload-array": (signed(HEADER, "[]"), "issuer"),  # Lua: a field of an array is nil
    "payload-string": (signed(HEADER, '"x"'), "issuer"),
    "payload-null": (signed(HEADER, "null"), "malformed"),
    "payload-duplicate-exp": (signed(HEADER, claims()[:-1] + ',"exp":1}'), "expired"),
    "nested-500": (signed(HEADER, _nested(500)), None),
    "nested-100000": (signed(HEADER, _nested(100_000)), "malformed"),
    "huge-token": (signed(HEADER, claims(pad='"' + "x" * 3_000_000 + '"')), None),
    "huge-garbage": ("A" * 5_000_000, "malformed"),
    "many-dots": ("." * 1_000_000, "malformed"),
    "backslash-split": (signed(HEADER, claims()).replace(".", "\\"), None),
    "bad-signature": (signed(HEADER, claims(), secret="other-" + SECRET), "signature"),
    "empty-signature": (signed(HEADER, claims()).rsplit(".", 1)[0] + ".", "malformed"),
    "signature-not-base64": (signed(HEADER, claims()).rsplit(".", 1)[0] + ".!!", "malformed"),
    "alg-none": (signed('{"alg":"none","typ":"JWT"}', claims()), "alg"),
    "alg-none-upper": (signed('{"alg":"NONE","typ":"JWT"}', claims()), "alg"),
    "alg-empty": (signed('{"alg":"","typ":"JWT"}', claims()), "alg"),
    "alg-missing": (signed('{"typ":"JWT"}', claims()), "alg"),
    "alg-null": (signed('{"alg":null,"typ":"JWT"}', claims()), "alg"),
    "alg-number": (signed('{"alg":256,"typ":"JWT"}', claims()), "alg"),
    "alg-list": (signed('{"alg":["HS256"],"typ":"JWT"}', claims()), "alg"),
    "alg-rs256": (signed('{"alg":"RS256","typ":"JWT"}', claims()), "alg"),
    "alg-lower": (signed('{"alg":"hs256","typ":"JWT"}', claims()), "alg"),
    "alg-space": (signed('{"alg":"HS256 ","typ":"JWT"}', claims()), "alg"),
    "alg-hs512": (signed('{"alg":"HS512","typ":"JWT"}', claims()), "alg"),
    "typ-missing": (signed('{"alg":"HS256"}', claims()), "typ"),
    "typ-lower": (signed('{"alg":"HS256","typ":"jwt"}', claims()), "typ"),
    "typ-number": (signed('{"alg":"HS256","typ":1}', claims()), "typ"),
    "typ-long": (signed('{"alg":"HS256","typ":"' + "J" * 10_000 + '"}', claims()), "typ"),
    "no-room": (signed(HEADER, claims(room=None)), "room"),
    "no-sub": (signed(HEADER, claims(sub=None)), "claims"),
    "no-iss": (signed(HEADER, claims(iss=None)), "issuer"),
    "no-aud": (signed(HEADER, claims(aud=None)), "audience"),
    "expired": (signed(HEADER, claims(exp=str(NOW - 1))), "expired"),
    "not-yet": (signed(HEADER, claims(nbf=str(NOW + 600))), "not-yet-valid"),
    "room-other": (signed(HEADER, claims(room='"support"')), "room"),
    "room-long": (signed(HEADER, claims(room='"' + "r" * 100_000 + '"')), "room"),
    "room-upper-star": (signed(HEADER, claims(room='"**"')), "room"),
}


@pytest.mark.parametrize(("token", "rule"), list(STRUCTURE.values()), ids=list(STRUCTURE))
def test_malformed_tokens_get_a_one_line_verdict(token, rule):
    started = time.monotonic()
    verdict = _check(token, room="Sales")
    assert time.monotonic() - started < 10, "too slow for a client's token"
    if rule is not None:
        assert verdict.rule == rule, verdict


def test_an_accepted_token_with_a_huge_room_claim_gives_a_short_message():
    verdict = _check(signed(HEADER, claims(room='"' + "r" * 100_000 + '"')))
    assert verdict.ok and len(verdict.message) <= MAX_MESSAGE, verdict.message[:200]


# -- mint: hostile arguments -------------------------------------------------------------
MINT = {
    "ttl-zero": {"ttl": 0},
    "ttl-negative": {"ttl": -1},
    "ttl-float": {"ttl": 1.5},
    "ttl-nan": {"ttl": math.nan},
    "ttl-inf": {"ttl": math.inf},
    "ttl-bool": {"ttl": True},
    "ttl-text": {"ttl": "3600"},
    "ttl-huge": {"ttl": 10**30},
    "ttl-beyond-years": {"ttl": 20 * 366 * 86400},
    "now-negative": {"now": -5},
    "now-float": {"now": 1.5},
    "now-huge": {"now": 10**30},
    "nbf-skew-negative": {"nbf_skew": -1},
    "nbf-skew-huge": {"nbf_skew": 10**30},
    "room-empty": {"room": ""},
    "room-none": {"room": None},
    "room-number": {"room": 42},
    "room-apostrophe": {"room": "it's"},
    "room-huge": {"room": "r" * 5000},
    "room-surrogate": {"room": "\ud800"},
    "name-empty": {"name": ""},
    "name-number": {"name": 7},
    "secret-empty": {"secret": ""},
    "secret-number": {"secret": 12345},
    "app-id-empty": {"app_id": " "},
    "issuer-number": {"issuer": 5},
    "audience-list": {"audience": ["a"]},
    "email-number": {"email": 1},
    "algorithm-none": {"algorithm": "none"},
    "algorithm-rs": {"algorithm": "RS256"},
    "subject-empty": {"subject": ""},
}


@pytest.mark.parametrize("changes", list(MINT.values()), ids=list(MINT))
def test_mint_refuses_bad_arguments_with_its_own_error(changes):
    args = {
        "secret": SECRET,
        "app_id": APP,
        "issuer": APP,
        "audience": APP,
        "room": "Sales",
        "name": "Alice",
        "now": NOW,
        "ttl": 3600,
    } | changes
    with pytest.raises(UsageError) as caught:
        tokens.mint(**args)
    text = str(caught.value)
    assert "\n" not in text and len(text) <= MAX_MESSAGE and SECRET not in text, text


CHECK_ARGS = {
    "now-nan": {"now": math.nan},
    "now-negative": {"now": -1},
    "now-bool": {"now": True},
    "room-star": {"room": "*"},
    "room-number": {"room": 5},
    "issuers-empty": {"accepted_issuers": []},
    "issuers-text": {"accepted_issuers": "callcenter"},
    "issuers-numbers": {"accepted_issuers": [1]},
    "audiences-none": {"accepted_audiences": None},
    "secret-empty": {"secret": ""},
    "algorithm-none": {"algorithm": "none"},
    "token-bytes": {"token": b"a.b.c"},
    "token-none": {"token": None},
}


@pytest.mark.parametrize("changes", list(CHECK_ARGS.values()), ids=list(CHECK_ARGS))
def test_check_refuses_bad_arguments_with_its_own_error(changes):
    args = {
        "token": signed(HEADER, claims()),
        "secret": SECRET,
        "accepted_issuers": [APP],
        "accepted_audiences": [APP],
        "now": NOW,
    } | changes
    token = args.pop("token")
    with pytest.raises(UsageError) as caught:
        tokens.check(token, **args)
    text = str(caught.value)
    assert "\n" not in text and len(text) <= MAX_MESSAGE and SECRET not in text, text


def _check(token: str, room: str | None = None) -> tokens.Verdict:
    """tokens.check as a backend calls it: a Verdict, one short line, no secret."""
    verdict = tokens.check(
        token,
        secret=SECRET,
        accepted_issuers=[APP],
        accepted_audiences=[APP],
        room=room,
        now=NOW,
    )
    assert isinstance(verdict, tokens.Verdict)
    assert verdict.rule in ("ok", *tokens.RULES)
    assert verdict.ok == (verdict.rule == "ok")
    message = verdict.message
    assert message and "\n" not in message and "\r" not in message, message[:200]
    assert len(message) <= MAX_MESSAGE, message[:200]
    assert SECRET not in message and SECRET not in repr(verdict.claims)[:10_000]
    json.dumps({"message": message, "rule": verdict.rule})  # what `token --check --json` prints
    return verdict
