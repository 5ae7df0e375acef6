"""Mint a Jitsi meeting token in the platform's backend (Python, PyJWT).

    pip install pyjwt
    JITSI_JWT_APP_ID=callcenter JITSI_JWT_APP_SECRET=... \\
        python mint_token.py "Ticket 4711" "Alice Agent" [alice@example.com] [--moderator]

Prints the token, then the meeting URL. Settings come from the environment (never put the
secret on the command line): JITSI_JWT_APP_ID, JITSI_JWT_APP_SECRET, JITSI_JWT_ALGORITHM
(HS256), JITSI_JWT_ISSUER and JITSI_JWT_AUDIENCE (both default to the app id, as jitsi-stack
does), JITSI_PUBLIC_URL (https://meet.example.com), JITSI_TOKEN_TTL (3600 seconds).
"""

import os
import sys
import time
import unicodedata
from urllib.parse import quote

import jwt


def room_claim(room: str) -> str:
    """The room as prosody sees it: the web client lowercases the name and URL-encodes it
    ("Ticket 4711" joins the room "ticket%204711"). '*' lets the token into any room."""
    if room == "*":
        return room
    return quote(unicodedata.normalize("NFKC", room).lower(), safe="!~*'()").lower()


def mint(room: str, name: str, email: str = "", moderator: bool = False) -> str:
    app_id = os.environ["JITSI_JWT_APP_ID"]
    now = int(time.time())
    user = {"name": name}
    if email:
        user["email"] = email
    user["moderator"] = moderator  # read by prosody's token_affiliation
    user["affiliation"] = "owner" if moderator else "member"
    claims = {
        "iss": os.environ.get("JITSI_JWT_ISSUER") or app_id,
        "aud": os.environ.get("JITSI_JWT_AUDIENCE") or app_id,
        "sub": "meet.jitsi",  # the stack's XMPP domain (xmpp.domain)
        "room": room_claim(room),
        "iat": now,
        "nbf": now - 30,  # prosody allows no clock skew: start a little in the past
        "exp": now + int(os.environ.get("JITSI_TOKEN_TTL", "3600")),
        "context": {"user": user},
    }
    algorithm = os.environ.get("JITSI_JWT_ALGORITHM", "HS256")
    return jwt.encode(
        claims, os.environ["JITSI_JWT_APP_SECRET"], algorithm=algorithm, headers={"typ": "JWT"}
    )


def meeting_url(room: str, token: str) -> str:
    base = os.environ.get("JITSI_PUBLIC_URL", "https://meet.example.com").rstrip("/")
    return f"{base}/{quote(room, safe='')}?jwt={token}"


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--moderator"]
    if len(args) not in (2, 3):
        sys.exit("usage: mint_token.py ROOM NAME [EMAIL] [--moderator]")
    token = mint(*args, moderator="--moderator" in sys.argv[1:])
    print(token)
    print(meeting_url(args[0], token))
