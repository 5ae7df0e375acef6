"""Tokens for the platform's backend, minted and checked the way upstream's prosody verifies them.

Pure: no I/O, no Docker. PyJWT signs; `check` follows upstream's Lua step by step, so its
verdict is the one prosody would give. Upstream code read (jitsi/jitsi-meet, path
resources/prosody-plugins/, unless named otherwise):

- luajwtjitsi.lib.lua @287058a4: `split_token` (l. 59-65, splits on '.' and on '\\', drops
  empty parts), `parse_token` (l. 70-91), `M.verify` (l. 184-261): typ (l. 205-207), alg
  (l. 209-211), signature (l. 213-216), exp/nbf must be numbers (l. 218-225), exp (l. 228-234),
  nbf (l. 236-238), iss (l. 240-248), aud (l. 250-258). `verify_claim` accepts '*'.
- token/util.lib.lua @10f7c81e: `Util.new` (signature_algorithm defaults to HS256 with an
  app_secret; asap_accepted_issuers defaults to {app_id}, audiences to {'*'};
  asap_require_room_claim true), `process_and_verify_token` (after `jwt.verify`: "room claim
  is missing", then "sub claim is missing"), `verify_room` (with enable_domain_verification
  off, as docker-jitsi-meet renders it by default: the lowercased room claim must equal the
  room's JID node or be '*'; upstream also accepts a node ending in ']'..claim, a tenant's
  room, which jitsi-stack's URLs never make). docker-jitsi-meet stable-11146-2,
  prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua l. 32 and 138: domain verification off
  unless JWT_ENABLE_DOMAIN_VERIFICATION; l. 126-128: signature_algorithm from JWT_SIGN_TYPE.
- mod_token_verification.lua @10f7c81e: `verify_room` runs on muc-room-pre-create and
  muc-occupant-pre-join ("Room and token mismatched").
- mod_token_affiliation.lua @0fa91b1b, `affiliation_from_token` (l. 28-45): owner when
  context.user.affiliation is owner/moderator/teacher or context.user.moderator is true or
  "true" (l. 35-39); member otherwise.
- basexx.from_url64 (msva/lua-basexx): '=' skipped anywhere, other characters outside
  [A-Za-z0-9_-] refused, leftover bits dropped.
- The room's JID node is what the web client derives from the URL's last path segment:
  react/features/base/util/uri.ts `getBackendSafeRoomName` (decode, NFKC, lowercase,
  encodeURIComponent, lowercase), called in base/conference/actions.any.ts `createConference`.

Deliberate differences from upstream, all on tokens no JWT library makes: a payload or
header that is not valid UTF-8 is "malformed" here (cjson accepts it); a room claim that is
not a string is refused ("room"), where upstream lets `false` into every room when domain
verification is off and refuses or errors on other values; an exp or nbf that is NaN or
infinite (JSON NaN, Infinity, 1e400) is refused ("claims": not a finite number), where Lua's
comparisons let a NaN exp in for ever. Numbers at their limits never raise: a huge exp or
nbf reads "more than 100 years"; mint refuses a ttl above a year and a day (MAX_TTL).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import string
import time
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import InvalidKeyError

from ..errors import UsageError
from ..validators import MAX_TOKEN_TTL

ALGORITHMS = {f"HS{bits}": getattr(hashlib, f"sha{bits}") for bits in (256, 384, 512)}
# The stable rule ids, in the order upstream checks them ("claims": exp/nbf that are not
# numbers, right after the signature; a missing sub, right after the room claim's presence).
RULES = (
    "malformed",
    "typ",
    "alg",
    "signature",
    "claims",
    "expired",
    "not-yet-valid",
    "issuer",
    "audience",
    "room",
)
OWNER_AFFILIATIONS = ("owner", "moderator", "teacher")  # mod_token_affiliation l. 35-37
SECRET_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 43  # 43 * log2(62) = 256.03 bits
_URL64 = {
    c: i for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + "0123456789-_")
}
_SEGMENT = re.compile(r"[^\\.]+")  # luajwtjitsi l. 61: "([^\\.]+)", a class of '\' and '.'
_LUA_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # string.lower
_NODE_MAX = 1023  # bytes in a JID node (RFC 7622)
_BAD = object()
MAX_TTL = MAX_TOKEN_TTL  # validators.py says why
MAX_NOW = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can name
_CENTURY = 100 * 366 * 86400
_WHOLE = "pass the whole token as mint or a JWT library makes it (header.payload.signature)"


@dataclass(frozen=True)
class Verdict:
    """What prosody would say about a token. `rule` is "ok" or one of RULES; `message` is one
    line naming the problem and the fix; `claims` is the decoded payload (never the secret)."""

    ok: bool
    rule: str
    message: str
    claims: dict[str, Any] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def mint(
    *,
    secret: str,
    app_id: str,
    issuer: str,
    audience: str,
    room: str,
    name: str,
    email: str = "",
    moderator: bool = False,
    ttl: int = 3600,
    algorithm: str = "HS256",
    subject: str = "meet.jitsi",
    now: int | None = None,
    nbf_skew: int = 30,
) -> str:
    """A token prosody accepts for `room` ('*': any room) until now + ttl.

    Header {"alg", "typ": "JWT"}; claims iss, aud (an empty issuer or audience means the app
    id, upstream's default issuer), sub (the XMPP domain; only read with domain
    verification, but current token/util refuses a token without it), room (the room's JID
    node, see `room_claim`), iat, nbf = now - nbf_skew (prosody has no leeway, so a clock a
    little behind still accepts it), exp = now + ttl, and context.user {name, email when
    given, moderator: true/false, affiliation: "owner"/"member"} as mod_token_affiliation
    reads them. Raises UsageError naming the bad argument."""
    _algorithm(algorithm)
    _nonempty("secret", secret)
    _nonempty("app_id", app_id)
    _nonempty("name", name)
    _nonempty("subject", subject)
    for arg, value in (("issuer", issuer), ("audience", audience), ("email", email)):
        if not isinstance(value, str):
            raise UsageError(f"{arg}: must be a string, got {type(value).__name__}")
    _count("ttl", ttl, minimum=1, maximum=MAX_TTL)
    _count("nbf_skew", nbf_skew, minimum=0, maximum=MAX_TTL)
    now = _now(now)
    user: dict[str, Any] = {"name": name}
    if email:
        user["email"] = email
    user["moderator"] = bool(moderator)
    user["affiliation"] = "owner" if moderator else "member"
    claims = {
        "iss": issuer or app_id,
        "aud": audience or app_id,
        "sub": subject,
        "room": room_claim(room),
        "iat": now,
        "nbf": now - nbf_skew,
        "exp": now + ttl,
        "context": {"user": user},
    }
    try:
        with warnings.catch_warnings():
            # a short secret is the settings' business (rules.py), not a reason to print here
            warnings.simplefilter("ignore", getattr(jwt, "InsecureKeyLengthWarning", Warning))
            return jwt.encode(claims, secret, algorithm=algorithm, headers={"typ": "JWT"})
    except InvalidKeyError as err:
        raise UsageError(f"secret: PyJWT refuses it as an HMAC key ({err})") from None


def check(
    token: str,
    *,
    secret: str,
    accepted_issuers: list[str],
    accepted_audiences: list[str],
    algorithm: str = "HS256",
    room: str | None = None,
    now: int | None = None,
) -> Verdict:
    """Would prosody accept `token` (and, when `room` is given, let it into that room)?

    The first failing rule wins, in upstream's order: malformed (luajwtjitsi parse_token),
    typ, alg (alg 'none' included), signature, claims (exp/nbf not numbers), expired
    (now >= exp), not-yet-valid (now < nbf), issuer, audience (M.verify), room claim missing,
    claims (sub missing) (process_and_verify_token), room (verify_room at join)."""
    _algorithm(algorithm)
    _nonempty("secret", secret)
    issuers = _accepted("accepted_issuers", accepted_issuers)
    audiences = _accepted("accepted_audiences", accepted_audiences)
    node = None
    if room is not None:
        if room == "*":
            raise UsageError("room: '*' is not a meeting room; pass the room the token is for")
        node = room_claim(room)
    now = _now(now)
    if not isinstance(token, str):
        raise UsageError(f"token: must be a string, got {type(token).__name__}")
    claims: dict[str, Any] = {}
    try:
        header, payload, signing_input, signature = _parse(token)
        claims = payload if isinstance(payload, dict) else {}
        _check_header(header, algorithm)
        _check_signature(signing_input, signature, secret, algorithm)
        if not isinstance(payload, dict | list | str):  # M.verify indexes the body only now
            raise _Refused("malformed", f"the payload is not a JSON object: {_WHOLE}")
        _check_times(claims, now)
        _check_listed("issuer", "iss", claims, issuers, "auth.jwt.accepted_issuers")
        _check_listed("audience", "aud", claims, audiences, "auth.jwt.accepted_audiences")
        _check_room(claims, node, room)
    except _Refused as refused:
        return Verdict(False, refused.rule, refused.message, claims)
    return Verdict(True, "ok", _accepted_message(claims, now, room), claims)


def meeting_url(public_url: str, room: str, token: str) -> str:
    """https://meet.example.com/<room, URL-quoted>?jwt=<token>: the page reads the jwt
    parameter (base/jwt/functions.ts parseJWTFromURLParams) and lib-jitsi-meet hands it to
    prosody on the BOSH/websocket URL. A path in public_url would be read as a tenant."""
    parts = urlsplit(public_url) if isinstance(public_url, str) else urlsplit("")
    root = parts.scheme in ("http", "https") and parts.hostname and parts.path in ("", "/")
    if not root or parts.query or parts.fragment:
        raise UsageError(f"public_url: {public_url!r} is not a site's root http(s) URL")
    if room == "*":
        raise UsageError("room: '*' is not a meeting room; pass the room to open")
    room_claim(room)  # the same rules as mint
    _nonempty("token", token)
    base = public_url.rstrip("/")
    return f"{base}/{quote(room, safe='')}?jwt={quote(token, safe='')}"


def generate_secret() -> str:
    """256 bits from the OS CSPRNG as 43 letters and digits: safe inside prosody's Lua string
    (no quote, backslash or newline) and never one of tpl's toBool false values."""
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def room_claim(room: str) -> str:
    """The room claim prosody matches for a room name: '*' stays '*'; any other name becomes
    the JID node the web client joins when the URL carries the name (meeting_url):
    NFKC, lowercase, encodeURIComponent, lowercase ("Sales Room" -> "sales%20room")."""
    if not isinstance(room, str) or not room.strip():
        raise UsageError("room: empty; pass the meeting's room name (or '*' for any room)")
    if room == "*":
        return room
    try:
        room.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("room: not valid text (a lone surrogate)") from None
    lowered = unicodedata.normalize("NFKC", room).lower()
    node = quote(lowered, safe="!~*'()").lower()  # encodeURIComponent's unescaped set
    if "'" in node:  # encodeURIComponent keeps it, XMPP's nodeprep refuses it
        raise UsageError("room: contains an apostrophe, which no room address can hold")
    if len(node) > _NODE_MAX:
        raise UsageError(f"room: too long; its address is {len(node)} bytes, XMPP allows 1023")
    return node


def affiliation(claims: dict[str, Any]) -> str:
    """'owner' or 'member', as mod_token_affiliation `affiliation_from_token` (l. 28-45)
    reads context.user (it only acts when token_affiliation is loaded)."""
    context = claims.get("context")
    user = context.get("user") if isinstance(context, dict) else None
    if isinstance(user, dict) and (
        user.get("affiliation") in OWNER_AFFILIATIONS
        or user.get("moderator") == "true"
        or user.get("moderator") is True
    ):
        return "owner"
    return "member"


# --- steps of check, in upstream's order --------------------------------------------------


def _parse(token: str) -> tuple[dict[str, Any], Any, bytes, bytes]:
    """luajwtjitsi parse_token (l. 70-91) and strip_signature (l. 96-104)."""
    parts = _SEGMENT.findall(token)
    if len(parts) != 3:
        raise _Refused("malformed", f"the token has {len(parts)} part(s), a JWT has 3: {_WHOLE}")
    header, payload = _json_part(parts[0]), _json_part(parts[1])
    for what, value in (("header", header), ("payload", payload)):
        if value is _BAD:
            raise _Refused("malformed", f"the {what} is not base64url JSON: {_WHOLE}")
    signature = _from_url64(parts[2])
    if signature is None:
        raise _Refused("malformed", f"the signature is not base64url: {_WHOLE}")
    if isinstance(header, list | str):  # Lua: a field of an array or a string is nil
        header = {}
    if not isinstance(header, dict):  # Lua: "attempt to index a number value", refused
        raise _Refused("malformed", f"the header is not a JSON object: {_WHOLE}")
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _check_header(header: dict[str, Any], algorithm: str) -> None:
    typ, alg = header.get("typ"), header.get("alg")
    if typ != "JWT":
        fix = "set typ JWT in the header (JWT libraries do by default)"
        raise _Refused("typ", f"the header's typ is {_show(typ)}, prosody requires 'JWT': {fix}")
    if alg in ("none", "", None):
        why = f"the token is unsigned (alg {_show(alg)}), prosody refuses it"
        raise _Refused("alg", f"{why}: sign it with {algorithm} and the app secret")
    if alg != algorithm:
        why = f"the token is signed with {_show(alg)}, prosody expects '{algorithm}'"
        raise _Refused("alg", f"{why} (auth.jwt.algorithm): sign with {algorithm}")


def _check_signature(signing_input: bytes, signature: bytes, secret: str, algorithm: str) -> None:
    mac = HMACAlgorithm(ALGORITHMS[algorithm])
    try:
        key = mac.prepare_key(secret)
    except InvalidKeyError as err:
        raise UsageError(f"secret: PyJWT refuses it as an HMAC key ({err})") from None
    if not mac.verify(signing_input, key, signature):
        fix = "sign with the auth.jwt.app_secret prosody uses (generated: .jitsi-stack/secrets.env)"
        raise _Refused("signature", f"the signature does not match the app secret: {fix}")


def _check_times(claims: dict[str, Any], now: int) -> None:
    for name in ("exp", "nbf"):  # M.verify l. 218-225: both types first, then the times
        if _lua_set(claims, name) and not _is_number(claims[name]):
            why = f"{name} is {_show(claims[name])}, prosody requires a number"
            raise _Refused("claims", f"{why}: mint {name} as seconds since the epoch")
        if (
            _lua_set(claims, name)
            and isinstance(claims[name], float)
            and not math.isfinite(claims[name])
        ):
            # NaN and infinity (JSON NaN, Infinity, 1e400): Lua compares NaN false both
            # ways and infinity never passes, so upstream lets such a token in forever
            # (or never); no JWT library mints one: refused here as not a time
            why = f"{name} is {claims[name]!r}, prosody requires a finite number"
            raise _Refused("claims", f"{why}: mint {name} as seconds since the epoch")
    exp, nbf = claims.get("exp", 0), claims.get("nbf", 0)  # read only when set: numbers
    if _lua_set(claims, "exp") and now >= exp:
        why = f"the token expired {_ago(now - exp)} ago (exp {_when(exp)})"
        raise _Refused("expired", f"{why}; prosody allows no leeway: mint a new one")
    if _lua_set(claims, "nbf") and now < nbf:
        why = f"the token is not valid for another {_ago(nbf - now)} (nbf {_when(nbf)})"
        fix = "set nbf a little in the past (mint: now - 30) or fix the minting host's clock"
        raise _Refused("not-yet-valid", f"{why}; prosody allows no leeway: {fix}")


def _check_listed(
    rule: str, name: str, claims: dict[str, Any], accepted: list[str], setting: str
) -> None:
    """verify_claim: any '*' accepts everything, else the claim must equal an entry."""
    if name not in claims:
        why = f"the token has no {name} claim: prosody requires one of {accepted}"
        raise _Refused(rule, f"{why}; mint with {name} set to one of them")
    value = claims[name]
    if "*" in accepted or (isinstance(value, str) and value in accepted):
        return
    why = f"the {rule} {_show(value)} is not accepted: prosody accepts {accepted}"
    raise _Refused(rule, f"{why}; mint with one of them or add it to {setting}")


def _check_room(claims: dict[str, Any], node: str | None, room: str | None) -> None:
    fix = "mint it for the meeting's room or for '*'"
    if "room" not in claims:  # process_and_verify_token, then "sub claim is missing"
        raise _Refused("room", f"the token has no room claim, prosody requires one: {fix}")
    if "sub" not in claims:
        why = "the token has no sub claim, which current prosody token plugins require"
        raise _Refused("claims", f"{why}: mint with sub 'meet.jitsi' (the XMPP domain) or '*'")
    claim = claims["room"]
    if not isinstance(claim, str):
        raise _Refused("room", f"the room claim is {_show(claim)}, not a string: {fix}")
    if node is None or claim == "*" or claim.translate(_LUA_LOWER) == node:  # verify_room
        return
    why = f"the token is for room {_show(claim)}, not {room!r} (room address {node!r})"
    raise _Refused("room", f"{why}: mint it for room {room!r} (room claim {node!r}) or '*'")


# --- helpers --------------------------------------------------------------------------------


def _json_part(part: str) -> Any:
    raw = _from_url64(part)
    if raw is None:
        return _BAD
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        return _BAD


def _from_url64(text: str) -> bytes | None:
    """basexx.from_url64: '=' skipped, other characters outside the alphabet refused, the
    last bits that do not fill a byte dropped whatever their value."""
    out = bytearray()
    acc = bits = 0
    for char in text:
        if char == "=":
            continue
        value = _URL64.get(char)
        if value is None:
            return None
        acc, bits = (acc << 6) | value, bits + 6
        if bits >= 8:
            bits -= 8
            out.append(acc >> bits)
            acc &= (1 << bits) - 1
    return bytes(out)


def _lua_set(claims: dict[str, Any], name: str) -> bool:
    """Lua's `body.exp and ...`: absent and false skip the test; JSON null (cjson.null) counts."""
    return name in claims and claims[name] is not False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _accepted(arg: str, values: list[str]) -> list[str]:
    if isinstance(values, str) or not values or not all(isinstance(v, str) for v in values):
        raise UsageError(f"{arg}: pass prosody's effective list of strings (default [app_id])")
    return list(values)


def _algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise UsageError(f"algorithm: {algorithm!r} is not supported; use HS256, HS384 or HS512")


def _nonempty(arg: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{arg}: empty; pass a non-empty string")


def _count(arg: str, value: int, *, minimum: int, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise UsageError(
            f"{arg}: {_show(value)} must be a whole number of seconds from {minimum} to {maximum}"
        )


def _now(now: int | None) -> int:
    if now is None:
        return int(time.time())
    _count("now", now, minimum=0, maximum=MAX_NOW)
    return now


def _show(value: Any) -> str:
    text = repr(value) if value is not None else "missing (null)"
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _when(stamp: float) -> str:
    try:
        return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return _show(stamp)


def _ago(seconds: float) -> str:
    if seconds >= _CENTURY:  # a huge exp or nbf: the message stays one short line
        return "more than 100 years"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _accepted_message(claims: dict[str, Any], now: int, room: str | None) -> str:
    where = f"room {_show(claims['room'])}" if room is None else f"room {_show(room)}"
    expiry = "never expires"
    if _lua_set(claims, "exp"):
        expiry = f"expires in {_ago(claims['exp'] - now)} ({_when(claims['exp'])})"
    who = f"iss {_show(claims.get('iss'))}, aud {_show(claims.get('aud'))}"
    return f"accepted: {who}, {where}, {expiry}, {affiliation(claims)} with token_affiliation"
