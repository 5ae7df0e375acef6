"""jitsi_stack.access.tokens against an independent model of upstream's prosody
(jwt_reference_verifier): every minted token is accepted by both, every broken rule is
refused by both with the same rule id, in upstream's order; the backend examples in
docs/examples make accepted tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from jitsi_stack.access import tokens
from jitsi_stack.errors import UsageError
from tests.support import jwt_reference_verifier as ref

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "docs" / "examples"
NOW = 1_800_000_000
SECRET = "k9Qw2LmZx7Rt4Yp1Vb8Nc3Hs6Jd0Fg5Ua2Ei7Ko3Pl"
OTHER_SECRET = "Zz9Qw2LmZx7Rt4Yp1Vb8Nc3Hs6Jd0Fg5Ua2Ei7Ko3P"
APP = "callcenter"
PUBLIC = "https://meet.example.com"
DROP = object()  # a claim left out
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
TOBOOL_FALSE = {"0", "f", "F", "false", "FALSE", "False", ""}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes) -> dict:
    base = {
        "iss": APP,
        "aud": APP,
        "sub": "meet.jitsi",
        "room": "sales",
        "iat": NOW,
        "nbf": NOW - 30,
        "exp": NOW + 3600,
        "context": {"user": {"name": "Alice"}},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


def forge(payload=None, header=None, *, secret=SECRET, alg="HS256", sig=None) -> str:
    """A token built by hand (standard library only), broken where a case wants it."""
    header = {"alg": alg, "typ": "JWT"} if header is None else header
    payload = claims() if payload is None else payload
    parts = [b64(p if isinstance(p, bytes) else json.dumps(p).encode()) for p in (header, payload)]
    if sig is None:
        digest = hmac.new(secret.encode(), ".".join(parts).encode(), DIGESTS[alg]).digest()
        sig = b64(digest)
    return ".".join([*parts, sig])


def both(
    token, *, room=None, now=NOW, issuers=(APP,), audiences=(APP,), alg="HS256", secret=SECRET
) -> tuple[tokens.Verdict, str]:
    """check's verdict, and the reference's rule for the same question."""
    verdict = tokens.check(
        token,
        secret=secret,
        accepted_issuers=list(issuers),
        accepted_audiences=list(audiences),
        algorithm=alg,
        room=room,
        now=now,
    )
    node = ref.backend_safe_room_name(room) if room is not None else None
    rule, _ = ref.verify(
        token,
        secret=secret,
        algorithm=alg,
        accepted_issuers=list(issuers),
        accepted_audiences=list(audiences),
        now=now,
        room_node=node,
    )
    return verdict, rule


def minted(**changes) -> str:
    args = {
        "secret": SECRET,
        "app_id": APP,
        "issuer": "",
        "audience": "",
        "room": "sales",
        "name": "Alice",
        "now": NOW,
    }
    args.update(changes)
    return tokens.mint(**args)


def decode(token: str) -> tuple[dict, dict]:
    head, body, _ = token.split(".")
    return (json.loads(ref.from_url64(head)), json.loads(ref.from_url64(body)))


# --- minted tokens are accepted -----------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("moderator", [True, False])
@pytest.mark.parametrize("email", ["", "alice@example.com"])
def test_minted_tokens_are_accepted_by_both(alg, moderator, email):
    token = minted(algorithm=alg, moderator=moderator, email=email, room="Sales Room")
    verdict, rule = both(token, room="Sales Room", alg=alg)
    assert (verdict.ok, verdict.rule, rule) == (True, "ok", "ok"), verdict.message
    assert verdict.claims["room"] == "sales%20room"
    assert verdict.message.startswith("accepted:") and "\n" not in verdict.message


def test_minted_header_and_claims_are_exactly_upstreams_shape():
    token = minted(
        room="Sales Room",
        email="alice@example.com",
        moderator=True,
        ttl=600,
        issuer="backend",
        audience="jitsi",
        subject="*",
        nbf_skew=10,
    )
    header, body = decode(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert body == {
        "iss": "backend",
        "aud": "jitsi",
        "sub": "*",
        "room": "sales%20room",
        "iat": NOW,
        "nbf": NOW - 10,
        "exp": NOW + 600,
        "context": {
            "user": {
                "name": "Alice",
                "email": "alice@example.com",
                "moderator": True,
                "affiliation": "owner",
            }
        },
    }
    signing_input, sig = token.rsplit(".", 1)
    expected = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert ref.from_url64(sig) == expected


def test_issuer_and_audience_default_to_the_app_id():
    _, body = decode(minted())
    assert (body["iss"], body["aud"]) == (APP, APP)
    assert body["nbf"] == NOW - 30 and body["exp"] == NOW + 3600 and body["sub"] == "meet.jitsi"
    assert "email" not in body["context"]["user"]


@pytest.mark.parametrize(
    "moderator, value, affiliation", [(True, True, "owner"), (False, False, "member")]
)
def test_moderator_claims_as_token_affiliation_reads_them(moderator, value, affiliation):
    _, body = decode(minted(moderator=moderator))
    user = body["context"]["user"]
    assert user["moderator"] is value and user["affiliation"] == affiliation
    assert ref.affiliation_from_token(body) == affiliation
    assert tokens.affiliation(body) == affiliation
    assert all(isinstance(user[k], str) for k in ("name", "affiliation"))


@pytest.mark.parametrize(
    "user, expected",
    [
        ({"moderator": "true"}, "owner"),
        ({"moderator": True}, "owner"),
        ({"affiliation": "moderator"}, "owner"),
        ({"affiliation": "teacher"}, "owner"),
        ({"moderator": 1}, "member"),
        ({"moderator": "yes"}, "member"),
        ({"affiliation": "Owner"}, "member"),
        ({"moderator": False, "affiliation": "member"}, "member"),
        ({}, "member"),
        ("owner", "member"),
    ],
)
def test_affiliation_matches_mod_token_affiliation(user, expected):
    body = claims(context={"user": user})
    assert ref.affiliation_from_token(body) == expected
    assert tokens.affiliation(body) == expected


# --- every rule broken on purpose ---------------------------------------------------------


def tampered() -> str:
    head, body, _ = forge(claims(room="*")).split(".")
    return f"{head}.{body}.{forge().split('.')[2]}"


CASES = [
    # (id, token, keyword arguments for both(), expected rule)
    ("ok", lambda: forge(), {"room": "sales"}, "ok"),
    ("ok-room-star", lambda: forge(claims(room="*")), {"room": "support"}, "ok"),
    ("ok-room-claim-uppercase", lambda: forge(claims(room="SALES")), {"room": "sales"}, "ok"),
    ("ok-issuer-wildcard", lambda: forge(claims(iss="x")), {"issuers": ["y", "*"]}, "ok"),
    ("ok-audience-wildcard", lambda: forge(claims(aud=7)), {"audiences": ["*"]}, "ok"),
    ("ok-no-exp-nbf", lambda: forge(claims(exp=DROP, nbf=DROP)), {}, "ok"),
    ("ok-exp-false-is-skipped-by-lua", lambda: forge(claims(exp=False)), {}, "ok"),
    ("ok-leading-dot", lambda: "." + forge(), {}, "ok"),
    ("ok-signature-padding-skipped", lambda: forge() + "==", {}, "ok"),
    ("header-padding-changes-signed-text", lambda: forge().replace(".", "==.", 1), {}, "signature"),
    ("ok-hs512", lambda: forge(alg="HS512"), {"alg": "HS512"}, "ok"),
    ("audience-wrong", lambda: forge(claims(aud="x")), {}, "audience"),
    ("audience-missing", lambda: forge(claims(aud=DROP)), {}, "audience"),
    ("audience-array", lambda: forge(claims(aud=[APP])), {}, "audience"),
    ("issuer-wrong", lambda: forge(claims(iss="x")), {}, "issuer"),
    ("issuer-missing", lambda: forge(claims(iss=DROP)), {}, "issuer"),
    ("issuer-null", lambda: forge(claims(iss=None)), {}, "issuer"),
    ("issuer-number", lambda: forge(claims(iss=1)), {"issuers": ["1"]}, "issuer"),
    ("expired-at-exp", lambda: forge(claims(exp=NOW)), {}, "expired"),
    ("expired-long-ago", lambda: forge(claims(exp=NOW - 3600, nbf=DROP)), {}, "expired"),
    ("not-yet-valid", lambda: forge(claims(nbf=NOW + 1)), {}, "not-yet-valid"),
    ("exp-string", lambda: forge(claims(exp=str(NOW + 60))), {}, "claims"),
    ("exp-null", lambda: forge(claims(exp=None)), {}, "claims"),
    ("exp-true", lambda: forge(claims(exp=True)), {}, "claims"),
    ("nbf-string", lambda: forge(claims(nbf="0")), {}, "claims"),
    ("room-missing", lambda: forge(claims(room=DROP)), {}, "room"),
    ("room-mismatch", lambda: forge(claims(room="support")), {"room": "sales"}, "room"),
    ("room-raw-name", lambda: forge(claims(room="Sales Room")), {"room": "Sales Room"}, "room"),
    ("room-number", lambda: forge(claims(room=5)), {}, "room"),
    ("room-false", lambda: forge(claims(room=False)), {"room": "sales"}, "room"),
    ("sub-missing", lambda: forge(claims(sub=DROP)), {}, "claims"),
    ("signature-wrong-secret", lambda: forge(secret=OTHER_SECRET), {}, "signature"),
    ("signature-tampered-payload", tampered, {}, "signature"),
    ("typ-missing", lambda: forge(header={"alg": "HS256"}), {}, "typ"),
    ("typ-lowercase", lambda: forge(header={"alg": "HS256", "typ": "jwt"}), {}, "typ"),
    ("typ-header-array", lambda: forge(header=["JWT"]), {}, "typ"),
    ("alg-none", lambda: forge(header={"alg": "none", "typ": "JWT"}), {}, "alg"),
    ("alg-empty", lambda: forge(header={"alg": "", "typ": "JWT"}), {}, "alg"),
    ("alg-missing", lambda: forge(header={"typ": "JWT"}), {}, "alg"),
    ("alg-mismatch", lambda: forge(alg="HS512"), {}, "alg"),
    (
        "alg-none-unsigned",
        lambda: forge(header={"alg": "none", "typ": "JWT"}, sig=""),
        {},
        "malformed",
    ),
    ("malformed-empty", lambda: "", {}, "malformed"),
    ("malformed-one-part", lambda: "abc", {}, "malformed"),
    ("malformed-two-parts", lambda: ".".join(forge().split(".")[:2]), {}, "malformed"),
    ("malformed-four-parts", lambda: forge() + ".abc", {}, "malformed"),
    ("malformed-not-base64", lambda: "!!!." + forge().split(".", 1)[1], {}, "malformed"),
    ("malformed-header-not-json", lambda: forge(header=b"{nope"), {}, "malformed"),
    ("malformed-payload-not-json", lambda: forge(b"{nope"), {}, "malformed"),
    ("malformed-signature-plus", lambda: forge()[:-1] + "+", {}, "malformed"),
    ("malformed-header-number", lambda: forge(header=42), {}, "malformed"),
    ("malformed-payload-number", lambda: forge(42), {}, "malformed"),
    ("payload-array-has-no-iss", lambda: forge([1, 2]), {}, "issuer"),
    # upstream's order, where two rules are broken at once
    ("order-typ-before-alg", lambda: forge(header={"alg": "none"}), {}, "typ"),
    ("order-alg-before-signature", lambda: forge(alg="HS512", secret=OTHER_SECRET), {}, "alg"),
    ("order-signature-before-body", lambda: forge(42, secret=OTHER_SECRET), {}, "signature"),
    (
        "order-signature-before-exp",
        lambda: forge(claims(exp=1), secret=OTHER_SECRET),
        {},
        "signature",
    ),
    ("order-types-before-times", lambda: forge(claims(exp=1, nbf="x")), {}, "claims"),
    ("order-exp-before-nbf", lambda: forge(claims(exp=1, nbf=NOW + 9)), {}, "expired"),
    ("order-nbf-before-iss", lambda: forge(claims(nbf=NOW + 9, iss="x")), {}, "not-yet-valid"),
    ("order-iss-before-aud", lambda: forge(claims(iss="x", aud="y")), {}, "issuer"),
    ("order-aud-before-room", lambda: forge(claims(aud="y", room=DROP)), {}, "audience"),
    ("order-room-before-sub", lambda: forge(claims(room=DROP, sub=DROP)), {}, "room"),
    (
        "order-sub-before-room-match",
        lambda: forge(claims(sub=DROP, room="x")),
        {"room": "y"},
        "claims",
    ),
]


@pytest.mark.parametrize(
    "make, kwargs, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_rule_is_refused_by_both_with_the_same_rule(make, kwargs, expected):
    verdict, rule = both(make(), **kwargs)
    assert (verdict.rule, rule) == (expected, expected), verdict.message
    assert verdict.ok is (expected == "ok")
    assert verdict.message and "\n" not in verdict.message
    assert SECRET not in verdict.message and OTHER_SECRET not in verdict.message


def test_refusal_messages_name_the_fix():
    verdict, _ = both(forge(claims(aud="x")))
    assert verdict.message == (
        "the audience 'x' is not accepted: prosody accepts ['callcenter']; mint with one of "
        "them or add it to auth.jwt.accepted_audiences"
    )
    assert "auth.jwt.accepted_issuers" in both(forge(claims(iss="x")))[0].message
    assert "auth.jwt.algorithm" in both(forge(alg="HS512"))[0].message
    assert "sales%20room" in both(forge(claims(room="x")), room="Sales Room")[0].message
    assert both(forge(claims(exp=NOW - 90)))[0].message.startswith("the token expired 90s ago")
    assert both(forge(claims(aud="x")))[0].claims["aud"] == "x"  # the payload, for display


@pytest.mark.parametrize("offset, expected", [(-1, "ok"), (0, "expired"), (1, "expired")])
def test_exp_has_no_leeway(offset, expected):
    verdict, rule = both(minted(ttl=100), now=NOW + 100 + offset)
    assert (verdict.rule, rule) == (expected, expected)


@pytest.mark.parametrize("offset, expected", [(-1, "not-yet-valid"), (0, "ok"), (1, "ok")])
def test_nbf_has_no_leeway(offset, expected):
    token = minted(nbf_skew=0)
    verdict, rule = both(token, now=NOW + offset)
    assert (verdict.rule, rule) == (expected, expected)


def test_upstream_room_quirks_that_check_refuses_on_purpose():
    """Upstream lets a token with room false into any room (domain verification off)."""
    token = forge(claims(room=False))
    literal = ref.verify(
        token,
        secret=SECRET,
        algorithm="HS256",
        accepted_issuers=[APP],
        accepted_audiences=[APP],
        now=NOW,
        room_node="sales",
        strict_room_type=False,
    )
    assert literal == ("ok", "")
    assert both(token, room="sales")[0].rule == "room"
    # a tenant room's node is [tenant]room; upstream accepts the plain room claim there
    tenant = ref.verify(
        forge(),
        secret=SECRET,
        algorithm="HS256",
        accepted_issuers=[APP],
        accepted_audiences=[APP],
        now=NOW,
        room_node="[acme]sales",
    )
    assert tenant == ("ok", "")


# --- properties over random rooms, names and tokens ---------------------------------------

ROOM_CHARS = 'abcXYZ019 -_.~!*()[]{}<>/?#@&=+,;:%$"\\|^`é ßİΣ日本語😀Ａｂ\u00adǅ'


def random_room(rng: random.Random) -> str:
    while True:
        room = "".join(rng.choice(ROOM_CHARS) for _ in range(rng.randint(1, 24)))
        if room.strip() and room != "*":
            return room


def test_property_random_rooms_and_names_are_accepted_where_the_browser_goes():
    rng = random.Random(20260822)
    for _ in range(300):
        room, alg = random_room(rng), rng.choice(sorted(tokens.ALGORITHMS))
        name = "A" + "".join(rng.choice("l ice日本😀'\"\\<>&") for _ in range(rng.randint(0, 12)))
        secret = tokens.generate_secret()
        now, ttl = rng.randint(1, 4_000_000_000), rng.randint(1, 86_400)
        token = tokens.mint(
            secret=secret,
            app_id=APP,
            issuer="",
            audience="",
            room=room,
            name=name,
            email=rng.choice(["", "a@b.example"]),
            moderator=rng.random() < 0.5,
            ttl=ttl,
            algorithm=alg,
            now=now,
        )
        url = tokens.meeting_url(PUBLIC, room, token)
        assert parse_qs(urlsplit(url).query)["jwt"] == [token]
        node = ref.room_node_of_url(url)  # what the web client joins for this URL
        assert node == tokens.room_claim(room), room
        got = ref.verify(
            token,
            secret=secret,
            algorithm=alg,
            accepted_issuers=[APP],
            accepted_audiences=[APP],
            now=now + rng.randint(0, ttl - 1),
            room_node=node,
        )
        assert got == ("ok", ""), (room, got)
        verdict = tokens.check(
            token,
            secret=secret,
            accepted_issuers=[APP],
            accepted_audiences=[APP],
            algorithm=alg,
            room=room,
            now=now,
        )
        assert verdict.ok, verdict.message
        assert decode(token)[1]["context"]["user"]["name"] == name
        other = random_room(rng)
        if tokens.room_claim(other) != node:
            verdict = tokens.check(
                token,
                secret=secret,
                accepted_issuers=[APP],
                accepted_audiences=[APP],
                algorithm=alg,
                room=other,
                now=now,
            )
            assert verdict.rule == "room"
            assert (
                ref.verify(
                    token,
                    secret=secret,
                    algorithm=alg,
                    accepted_issuers=[APP],
                    accepted_audiences=[APP],
                    now=now,
                    room_node=ref.room_node_of_url(tokens.meeting_url(PUBLIC, other, token)),
                )[0]
                == "room"
            )


CHOICES = {
    "iss": [APP, "other", None, DROP, 7, [APP]],
    "aud": [APP, "other", None, DROP, 7, [APP]],
    "exp": [NOW + 100, NOW, NOW - 1, "x", None, True, False, DROP, NOW + 0.5, 1e300],
    "nbf": [NOW - 30, NOW, NOW + 1, "x", None, False, DROP],
    "room": ["sales", "SALES", "*", "support", None, False, 5, DROP, "sales%20room"],
    "sub": ["meet.jitsi", DROP, None],
}
HEADERS = [
    {"alg": a, "typ": t}
    for a in ("HS256", "HS512", "none", "", None, 5)
    for t in ("JWT", "jwt", None)
] + [{"typ": "JWT"}, {"alg": "HS256"}, [], "x", 42, None, True]


def random_token(rng: random.Random) -> str:
    if rng.random() < 0.1:
        payload = rng.choice([[], "str", 42, None, b"{", b"\xff"])
    else:
        payload = claims(**{k: rng.choice(v) for k, v in CHOICES.items()})
    header = rng.choice(HEADERS) if rng.random() < 0.4 else {"alg": "HS256", "typ": "JWT"}
    alg = rng.choice(["HS256", "HS512"])
    token = forge(payload, header, secret=rng.choice([SECRET, OTHER_SECRET]), alg=alg)
    mangle = rng.random()
    if mangle < 0.05:
        token = token.replace(".", "\\", 1)  # upstream splits on backslashes too
    elif mangle < 0.1:
        token = "." + token + "."
    elif mangle < 0.15:
        token = token[:-2] + rng.choice(["+/", "==", "!!", "-_", ""])
    elif mangle < 0.2:
        token += ".x"
    return token


def test_differential_check_and_reference_agree_on_random_tokens():
    rng = random.Random(7)
    seen = set()
    for _ in range(3000):
        token = random_token(rng)
        kwargs = {
            "room": rng.choice([None, "sales", "Sales", "support", "sales room"]),
            "issuers": rng.choice([[APP], ["*"], ["other", APP]]),
            "audiences": rng.choice([[APP], ["*"], ["other"]]),
            "alg": rng.choice(["HS256", "HS512"]),
        }
        verdict, rule = both(token, **kwargs)
        assert verdict.rule == rule, (token, kwargs, verdict.message)
        seen.add(rule)
    assert seen == {"ok", *tokens.RULES}  # the fuzz reached every rule


def test_random_corruption_of_a_minted_token_is_refused_alike():
    rng = random.Random(11)
    token = minted()
    refused = 0
    for _ in range(1000):
        pos = rng.randrange(len(token))
        bad = token[:pos] + rng.choice("AbZ09-_=.!+") + token[pos + 1 :]
        verdict, rule = both(bad)
        assert verdict.rule == rule, bad
        refused += not verdict.ok
    assert refused > 900  # only no-op edits (same character, dropped bits) pass


# --- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, argument",
    [
        ({"room": ""}, "room"),
        ({"room": "  "}, "room"),
        ({"room": "O'Brien"}, "room"),
        ({"room": "é" * 200}, "room"),
        ({"room": "\ud800"}, "room"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -5}, "ttl"),
        ({"ttl": True}, "ttl"),
        ({"ttl": 1.5}, "ttl"),
        ({"algorithm": "RS256"}, "algorithm"),
        ({"algorithm": "none"}, "algorithm"),
        ({"algorithm": "hs256"}, "algorithm"),
        ({"secret": ""}, "secret"),
        ({"name": ""}, "name"),
        ({"app_id": ""}, "app_id"),
        ({"subject": ""}, "subject"),
        ({"nbf_skew": -1}, "nbf_skew"),
        ({"now": -1}, "now"),
        ({"secret": "ssh-rsa AAAA"}, "secret"),
    ],
)
def test_mint_refuses_bad_arguments_naming_them(change, argument):
    with pytest.raises(UsageError) as err:
        minted(**change)
    assert str(err.value).startswith(f"{argument}: ") and "\n" not in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    "change, argument",
    [
        ({"accepted_issuers": []}, "accepted_issuers"),
        ({"accepted_audiences": "jitsi"}, "accepted_audiences"),
        ({"algorithm": "RS256"}, "algorithm"),
        ({"room": "*"}, "room"),
        ({"room": ""}, "room"),
        ({"secret": ""}, "secret"),
        ({"now": -1}, "now"),
    ],
)
def test_check_refuses_bad_arguments_naming_them(change, argument):
    args = {"secret": SECRET, "accepted_issuers": [APP], "accepted_audiences": [APP], **change}
    with pytest.raises(UsageError) as err:
        tokens.check(minted(), **args)
    assert str(err.value).startswith(f"{argument}: ")


def test_generate_secret_is_256_bits_of_letters_and_digits():
    made = [tokens.generate_secret() for _ in range(300)]
    assert len(set(made)) == len(made)
    for secret in made:
        assert len(secret) == 43 and set(secret) <= set(tokens.SECRET_ALPHABET)
        assert secret not in TOBOOL_FALSE and not set(secret) & set('"\\\n ')
    assert set("".join(made)) == set(tokens.SECRET_ALPHABET)  # the whole alphabet is used
    verdict, rule = both(minted(secret=made[0]), secret=made[0])
    assert (verdict.rule, rule) == ("ok", "ok")


# --- URLs and room claims -----------------------------------------------------------------


@pytest.mark.parametrize(
    "public, room, expected",
    [
        (PUBLIC, "sales", f"{PUBLIC}/sales?jwt=T.o.k"),
        (PUBLIC + "/", "Sales Room", f"{PUBLIC}/Sales%20Room?jwt=T.o.k"),
        (
            "http://localhost:8443",
            "a/b?c#d(e)",
            "http://localhost:8443/a%2Fb%3Fc%23d%28e%29?jwt=T.o.k",
        ),
        (PUBLIC, "Café", f"{PUBLIC}/Caf%C3%A9?jwt=T.o.k"),
    ],
)
def test_meeting_url(public, room, expected):
    assert tokens.meeting_url(public, room, "T.o.k") == expected
    assert ref.room_node_of_url(expected) == tokens.room_claim(room)


@pytest.mark.parametrize("room", ["", "*", "O'Brien", "\uff07quoted"])
def test_meeting_url_refuses_rooms_the_browser_cannot_join(room):
    with pytest.raises(UsageError, match="^room: "):
        tokens.meeting_url(PUBLIC, room, "T.o.k")


@pytest.mark.parametrize(
    "public",
    [
        "meet.example.com",
        "ftp://meet.example.com",
        "https://meet.example.com/tenant",
        "https://x/?a=1",
        "",
    ],
)
def test_meeting_url_refuses_a_public_url_that_is_not_a_site_root(public):
    with pytest.raises(UsageError, match="^public_url: "):
        tokens.meeting_url(public, "sales", "T.o.k")


@pytest.mark.parametrize(
    "room, claim",
    [
        ("sales", "sales"),
        ("Sales Room", "sales%20room"),
        ("Café", "caf%c3%a9"),
        ("ＡＢＣ", "abc"),
        ("*", "*"),
        ("a(b)!~*", "a(b)!~*"),
        ("100%", "100%25"),
        ("a/b", "a%2fb"),
        ("ΣΑΣ", "%cf%83%ce%b1%cf%82"),
    ],
)
def test_room_claim_is_the_node_the_web_client_joins(room, claim):
    assert tokens.room_claim(room) == claim
    if room != "*":
        assert ref.backend_safe_room_name(room) == claim


# --- the backend examples in docs/examples ------------------------------------------------


def example_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    env.update(
        {
            "JITSI_JWT_APP_ID": APP,
            "JITSI_JWT_APP_SECRET": SECRET,
            "JITSI_PUBLIC_URL": PUBLIC,
            **extra,
        }
    )
    return env


def assert_example_output(output: str, room: str, *, alg="HS256", moderator=True):
    token, url = output.strip().splitlines()
    assert url == tokens.meeting_url(PUBLIC, room, token)
    verdict = tokens.check(
        token,
        secret=SECRET,
        accepted_issuers=[APP],
        accepted_audiences=[APP],
        algorithm=alg,
        room=room,
    )
    assert verdict.ok, verdict.message
    assert ref.verify(
        token,
        secret=SECRET,
        algorithm=alg,
        accepted_issuers=[APP],
        accepted_audiences=[APP],
        now=int(time.time()),
        room_node=ref.room_node_of_url(url),
    ) == ("ok", "")
    header, body = decode(token)
    assert header == {"alg": alg, "typ": "JWT"}
    assert ref.affiliation_from_token(body) == ("owner" if moderator else "member")
    assert body["context"]["user"]["email"] == "alice@example.com"


EXAMPLE_ROOM = "Ticket 4711 (Sales) Ünïcode"


def test_python_example_mints_tokens_check_accepts():
    args = [
        sys.executable,
        str(EXAMPLES / "mint_token.py"),
        EXAMPLE_ROOM,
        "Alice Agent",
        "alice@example.com",
        "--moderator",
    ]
    out = subprocess.run(args, env=example_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert_example_output(out.stdout, EXAMPLE_ROOM)


@pytest.fixture(scope="session")
def node_example(tmp_path_factory) -> Path:
    """docs/examples with jsonwebtoken installed from the npm registry, in a temp dir."""
    required = os.environ.get("JSTEST_REQUIRE_NODE") == "1"
    problem = None
    if not (shutil.which("node") and shutil.which("npm")):
        problem = "node and npm are not on PATH"
    else:
        where = tmp_path_factory.mktemp("node-example")
        for name in ("mint_token.js", "package.json"):
            shutil.copy(EXAMPLES / name, where / name)
        install = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if install.returncode == 0:
            return where
        problem = f"npm install jsonwebtoken failed: {install.stderr.strip()[-200:]}"
    if required:
        pytest.fail(f"JSTEST_REQUIRE_NODE=1 but {problem}")
    pytest.skip(f"SKIPPED LOUDLY: the Node example was not run: {problem}")


@pytest.mark.parametrize("alg, moderator", [("HS256", True), ("HS512", False)])
def test_node_example_mints_tokens_the_reference_accepts(node_example, alg, moderator):
    args = [
        "node",
        str(node_example / "mint_token.js"),
        EXAMPLE_ROOM,
        "Alice Agent",
        "alice@example.com",
        *(["--moderator"] if moderator else []),
    ]
    out = subprocess.run(
        args, env=example_env(JITSI_JWT_ALGORITHM=alg), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert_example_output(out.stdout, EXAMPLE_ROOM, alg=alg, moderator=moderator)
