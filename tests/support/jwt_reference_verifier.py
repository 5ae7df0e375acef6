"""An independent model of how upstream's prosody verifies a token, for the tests only.

Written from the Lua, line by line, with its Lua semantics kept (nil vs cjson.null, `false`
is falsy, indexing a string reaches the string library, comparing values of different types
is false). It does not use jitsi_stack.access.tokens nor PyJWT: base64url, JSON and HMAC come from
the standard library. Sources (jitsi/jitsi-meet, resources/prosody-plugins/):

- luajwtjitsi.lib.lua @287058a4: split_token l. 59-65, parse_token l. 70-91,
  strip_signature l. 96-104, verify_claim l. 110-121, M.verify l. 184-261.
- token/util.lib.lua @10f7c81e: Util:process_and_verify_token (room claim, then sub claim),
  Util:verify_room (the branch for enable_domain_verification = false).
- mod_token_affiliation.lua @0fa91b1b: affiliation_from_token l. 28-45.
- lua-basexx: from_basexx / from_url64. lib-jitsi-meet's client side:
  react/features/base/util/uri.ts getBackendSafeRoomName, parseURIString, _fixPathPart.

`verify` returns ("ok", "") or (rule, upstream's own message). The rule ids are the ones
jitsi_stack.access.tokens.check uses, so the two can be compared.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import unicodedata
from typing import Any


class LuaError(Exception):
    """What the Lua code would raise (indexing a number, concatenating a boolean)."""


NIL = type("Nil", (), {"__repr__": lambda self: "nil"})()  # Lua nil; JSON null is cjson.null
LUA_STRING_LIBRARY = {
    "byte",
    "char",
    "dump",
    "find",
    "format",
    "gmatch",
    "gsub",
    "len",
    "lower",
    "match",
    "rep",
    "reverse",
    "sub",
    "upper",
    "pack",
    "packsize",
    "unpack",
}
URL64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def lua_type(value: Any) -> str:
    if value is NIL:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict | list):
        return "table"
    if value is None:
        return "userdata"  # cjson.null is a lightuserdata
    return "function"


def lua_index(value: Any, key: str) -> Any:
    """value[key] / value.key."""
    kind = lua_type(value)
    if kind == "table":
        return value.get(key, NIL) if isinstance(value, dict) else NIL
    if kind == "string":
        return ("function", key) if key in LUA_STRING_LIBRARY else NIL
    raise LuaError(f"attempt to index a {kind} value")


def truthy(value: Any) -> bool:
    return value is not NIL and value is not False


def lua_eq(a: Any, b: Any) -> bool:
    if lua_type(a) != lua_type(b):
        return False
    if lua_type(a) == "table":
        return a is b
    return a == b


def ascii_lower(text: str) -> str:
    """string.lower in the C locale: ASCII letters only."""
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


# --- lua-basexx -------------------------------------------------------------------------


def from_url64(text: str) -> bytes | None:
    bits = []
    for c in text:
        if c != "=":
            index = URL64_ALPHABET.find(c)
            if index < 0:
                return None
            bits.append(format(index, "06b"))
    value = "".join(bits)
    value = value[: len(value) - len(value) % 8]
    return bytes(int(value[i : i + 8], 2) for i in range(0, len(value), 8))


def cjson_decode(data: bytes | None) -> tuple[Any, str | None]:
    """cjson.safe.decode: (value, nil) or (nil, err). Invalid UTF-8 counts as an error here,
    as in jitsi_stack.access.tokens (cjson itself passes the bytes through)."""
    if data is None:
        return NIL, "bad argument #1 to 'decode' (string expected, got nil)"
    try:
        return json.loads(data.decode("utf-8")), None
    except (ValueError, RecursionError) as err:
        return NIL, str(err)


# --- luajwtjitsi.lib.lua -----------------------------------------------------------------


def split_token(token: str) -> list[str]:
    return re.findall(r"[^\\.]+", token)  # Lua: string.gmatch(token, "([^\\.]+)")


def parse_token(token: str) -> tuple[Any, Any, Any, str | None]:
    segments = split_token(token)
    if len(segments) != 3:
        return NIL, NIL, NIL, "Invalid token"
    header, err = cjson_decode(from_url64(segments[0]))
    if err:
        return NIL, NIL, NIL, "Invalid header"
    body, err = cjson_decode(from_url64(segments[1]))
    if err:
        return NIL, NIL, NIL, "Invalid body"
    sig = from_url64(segments[2])
    if sig is None:
        return NIL, NIL, NIL, "Invalid signature"
    return header, body, sig, None


def strip_signature(token: str) -> str:
    return ".".join(split_token(token)[:2])


def alg_sign(alg: str, data: str, key: str) -> bytes:
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), DIGESTS[alg]).digest()


def verify_claim(claim: Any, accepted: list[str]) -> bool:
    for entry in accepted:
        if entry == "*":
            return True
        if lua_eq(claim, entry):
            return True
    return False


def m_verify(token, expected_algo, key, accepted_issuers, accepted_audiences, now):
    """M.verify: (body, None, None) or (NIL, rule, message)."""
    if expected_algo not in DIGESTS:
        return NIL, "alg", "Algorithm not supported"
    header, body, sig, err = parse_token(token)
    if err is not None:
        return NIL, "malformed", err
    try:
        typ = lua_index(header, "typ")
        if not truthy(typ) or not lua_eq(typ, "JWT"):
            return NIL, "typ", "Invalid typ"
        alg = lua_index(header, "alg")
        if not truthy(alg) or not lua_eq(alg, expected_algo):
            return NIL, "alg", "Invalid or incorrect alg"
        if not hmac.compare_digest(sig, alg_sign(expected_algo, strip_signature(token), key)):
            return NIL, "signature", "Invalid signature"
        exp, nbf = lua_index(body, "exp"), lua_index(body, "nbf")
    except LuaError as error:
        return NIL, "malformed", str(error)
    if truthy(exp) and lua_type(exp) != "number":
        return NIL, "claims", "exp must be number"
    if truthy(nbf) and lua_type(nbf) != "number":
        return NIL, "claims", "nbf must be number"
    if truthy(exp) and now >= exp:
        return NIL, "expired", f"Not acceptable by exp ({now - exp} sec since expired)"
    if truthy(nbf) and now < nbf:
        return NIL, "not-yet-valid", "Not acceptable by nbf"
    iss = lua_index(body, "iss")
    if iss is NIL:
        return NIL, "issuer", "'iss' claim is missing"
    if not verify_claim(iss, accepted_issuers):
        return NIL, "issuer", "invalid 'iss' claim"
    aud = lua_index(body, "aud")
    if aud is NIL:
        return NIL, "audience", "'aud' claim is missing"
    if not verify_claim(aud, accepted_audiences):
        return NIL, "audience", "invalid 'aud' claim"
    return body, None, None


# --- token/util.lib.lua ------------------------------------------------------------------


def process_and_verify_token(token, secret, algorithm, issuers, audiences, now):
    claims, rule, message = m_verify(token, algorithm, secret, issuers, audiences, now)
    if claims is NIL:
        return NIL, rule, message
    if lua_index(claims, "room") is NIL:  # requireRoomClaim defaults to true
        return NIL, "room", "room claim is missing"
    if lua_index(claims, "sub") is NIL:
        return NIL, "claims", "sub claim is missing"
    return claims, None, None


def verify_room(claims: Any, room: str) -> bool:
    """Util:verify_room with enableDomainVerification false; `room` is the JID node."""
    auth_room = lua_index(claims, "room")
    if truthy(auth_room) and lua_type(auth_room) == "string":
        auth_room = ascii_lower(auth_room)  # (not a pattern: mint sets no context.room)
    if truthy(auth_room):
        if lua_type(auth_room) not in ("string", "number"):
            raise LuaError("attempt to concatenate a non-string value")  # ']'..auth_room
        suffix = "]" + (auth_room if isinstance(auth_room, str) else repr(auth_room))
        if (not lua_eq(room, auth_room) and not room.endswith(suffix)) and not lua_eq(
            auth_room, "*"
        ):
            return False
    return True


def verify(
    token: str,
    *,
    secret: str,
    algorithm: str,
    accepted_issuers: list[str],
    accepted_audiences: list[str],
    now: int,
    room_node: str | None = None,
    strict_room_type: bool = True,
) -> tuple[str, str]:
    """("ok", "") or (rule, message). strict_room_type refuses a room claim that is not a
    string, as jitsi_stack.access.tokens does on purpose; False models upstream literally."""
    claims, rule, message = process_and_verify_token(
        token, secret, algorithm, accepted_issuers, accepted_audiences, now
    )
    if claims is NIL:
        return rule, message
    if strict_room_type and lua_type(lua_index(claims, "room")) != "string":
        return "room", "room claim is not a string (jitsi-stack refuses it on purpose)"
    if room_node is not None:
        try:
            allowed = verify_room(claims, room_node)
        except LuaError as error:
            return "room", str(error)
        if not allowed:
            return "room", "Room and token mismatched"
    return "ok", ""


# --- mod_token_affiliation.lua -----------------------------------------------------------


def affiliation_from_token(claims: Any) -> str:
    """session.jitsi_meet_context_user is context.user (util: process_and_verify_token)."""
    context = lua_index(claims, "context")
    context_user = lua_index(context, "user") if lua_type(context) == "table" else NIL
    if lua_type(context_user) == "table":
        affiliation = lua_index(context_user, "affiliation")
        moderator = lua_index(context_user, "moderator")
        if (
            lua_eq(affiliation, "owner")
            or lua_eq(affiliation, "moderator")
            or lua_eq(affiliation, "teacher")
            or lua_eq(moderator, "true")
            or lua_eq(moderator, True)
        ):
            return "owner"
    return "member"


# --- the web client: from the page URL to the MUC room node -------------------------------

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
ROOM_EXCLUDE = re.compile(r"[\:\?#\[\]@!$&'()*+,;=></\"]")  # uri.ts _ROOM_EXCLUDE_PATTERN


class URIError(Exception):
    pass


def decode_uri_component(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] != "%":
            out.append(text[i])
            i += 1
            continue
        run = bytearray()
        while i < len(text) and text[i] == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
                raise URIError("URI malformed")
            run.append(int(pair, 16))
            i += 3
        try:
            out.append(run.decode("utf-8"))
        except UnicodeDecodeError:
            raise URIError("URI malformed") from None
    return "".join(out)


def encode_uri_component(text: str) -> str:
    out = []
    for c in text:
        if c in UNRESERVED:
            out.append(c)
        else:
            try:
                out.extend(f"%{b:02X}" for b in c.encode("utf-8"))
            except UnicodeEncodeError:
                raise URIError("URI malformed") from None
    return "".join(out)


def backend_safe_room_name(room: str) -> str:
    """getBackendSafeRoomName: the room node lib-jitsi-meet joins."""
    if not room:
        return room
    with contextlib.suppress(URIError):  # "we're fine going on"
        room = decode_uri_component(room)
    room = unicodedata.normalize("NFKC", room).lower()
    return encode_uri_component(room).lower()


def room_segment(url: str) -> str:
    """parseURIString(url).room: the last path segment, excluded characters removed."""
    url = re.sub(r"\s", "", url)
    url = re.sub(r"^[a-z][a-z0-9.+-]*:", "", url, flags=re.I)
    url = re.sub(r"^//[^/?#]+", "", url)
    path = re.match(r"[^?#]*", url).group(0) or "/"
    return "/".join(ROOM_EXCLUDE.sub("", part) for part in path.split("/")).rsplit("/", 1)[1]


def room_node_of_url(url: str) -> str:
    return backend_safe_room_name(room_segment(url))
