"""The probe's way in when authentication is on: a throwaway agent account (internal auth,
created in the local prosody and removed afterwards) or a short-lived token (JWT)."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import Iterator

from jitsi_stack import ui
from jitsi_stack.errors import StackError

from .target import SmokeTarget

PROBE_PREFIX = "jitsi-stack-probe-"
TOKEN_TTL = 300  # seconds: enough for the slowest smoke run, useless soon after


@contextlib.contextmanager
def probe_login(stack, target: SmokeTarget, wanted: set[str]) -> Iterator[SmokeTarget]:
    """target with agent or token filled in while the checks in `wanted` run."""
    if not wanted & {"auth", "turn"}:
        yield target
        return
    if target.auth_type == "jwt":
        yield dataclasses.replace(target, token=_token(stack))
        return
    if target.auth_type != "internal" or target.compose is None:
        yield target
        return
    from jitsi_stack.access.users import Accounts

    accounts = Accounts(stack)
    name = PROBE_PREFIX + secrets.token_hex(4)
    password = secrets.token_urlsafe(24)
    try:
        accounts.add(name, password)
    except StackError as err:  # the checks then say what they could not try
        ui.warn(f"smoke: no probe account ({err})")
        yield target
        return
    try:
        yield dataclasses.replace(target, agent=(name, password))
    finally:
        try:
            accounts.remove(name)
        except StackError as err:
            ui.warn(
                f"smoke: probe account {name} is left: remove it with "
                f"`inv users.remove {name}` ({err})"
            )


def _token(stack) -> str:
    from jitsi_stack.access import tokens
    from jitsi_stack.store import secrets as secret_store

    jwt = stack.d.auth.jwt
    secret = stack.d.secret("JWT_APP_SECRET", secret_store.read(stack.d.root))
    if jwt is None or not secret:
        return ""
    return tokens.mint(
        secret=secret,
        app_id=jwt.app_id,
        issuer=jwt.issuers[0],
        audience=jwt.audiences[0],
        room="*",
        name="jitsi-stack smoke probe",
        ttl=TOKEN_TTL,
        algorithm=jwt.algorithm,
        subject=stack.d.domains.xmpp,
    )
