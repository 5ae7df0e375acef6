"""JWTs built by hand, so a test can make every kind of bad token (wrong typ or
alg, bad signature, non-numeric exp) that a JWT library would refuse to make."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(
    secret: str,
    claims: dict | None = None,
    *,
    alg: str = "HS256",
    typ: str | None = "JWT",
    sign_alg: str | None = None,
    **overrides,
) -> str:
    """A signed token. Default claims: a one-hour token for every room.

    `overrides` replace claims (None removes one); `alg` goes in the header,
    `sign_alg` (default: alg) is the HMAC actually used.
    """
    now = int(time.time())
    body = {
        "iss": "jitsi-stack",
        "aud": "jitsi-stack",
        "sub": "meet.jitsi",
        "room": "*",
        "nbf": now - 10,
        "exp": now + 3600,
    }
    body.update(claims or {})
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    header = {"alg": alg}
    if typ is not None:
        header["typ"] = typ
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}"
    digest = HASHES[sign_alg or alg]
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"
