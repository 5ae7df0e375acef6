"""The call center's tasks: agent accounts (`inv users.*`, auth.type internal), meeting
tokens (`inv token`, auth.type jwt) and the bridge's public addresses (`inv addresses`)."""

from __future__ import annotations

import json as jsonlib

from invoke import Collection, Exit, task

from .. import ui
from ..errors import StackError, UsageError
from .support import _locked, _stack, detect_addresses, operator_errors, session

# -- users: agent accounts (auth.type: internal) ------------------------------------------

PASSWORD_STDIN_HELP = "Read the password from stdin (one line), e.g. from a secrets manager"  # noqa: S105 - help text


def _accounts(c, task: str):
    """The agent accounts in the stack's prosody: this engine's Compose project, or the
    Swarm stack's prosody task through swarm.docker_host (the manager)."""
    from ..access.users import Accounts

    if session(c).swarm is None:
        return Accounts(_stack(c))
    manager, absent = swarm_prosody(c)
    return Accounts(_stack(c), prosody=manager, absent=absent)


def swarm_prosody(c):
    """(the Swarm manager that runs prosodyctl in prosody's task, what to say when that
    task is not on the manager's engine)."""
    from .. import swarm
    from ..swarm import cluster

    here = session(c)
    s = here.settings
    _s, _d, _values, v = swarm.load(here.root, settings=s, deployment=here.d)
    absent = (
        f"prosody's task of Swarm stack {v.stack} does not run on the engine "
        f"swarm.docker_host reaches ({s['swarm.docker_host'] or 'DOCKER_HOST'}): set "
        "swarm.prosody_node to that manager (docs/scaling.md)"
    )
    return cluster.client(s, here.runner, v.stack), absent


def _password(name: str, from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice on a terminal (never argv)."""
    import getpass
    import sys

    from ..access.users import check_password

    if from_stdin:
        text = sys.stdin.read()
        text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
        if "\n" in text:
            raise UsageError(f"password for {name}: stdin has more than one line: give one")
        return check_password(text, name)
    if not ui.interactive():
        raise UsageError(
            f"password for {name}: no terminal to ask on: pipe it in with --password-stdin"
        )
    first = check_password(getpass.getpass(f"password for {name}: "), name)
    if getpass.getpass("again: ") != first:
        raise UsageError(f"password for {name}: the two entries differ: nothing changed")
    return first


def _outcomes_json(outcomes) -> str:
    rows = [
        {"line": o.line or None, "name": o.name, "result": o.action, "message": o.message}
        for o in outcomes
    ]
    return jsonlib.dumps({"ok": all(o.ok for o in outcomes), "accounts": rows}, indent=2)


@task(
    name="add",
    positional=["name"],
    help={"name": "The agent's login name, e.g. agent042", "password-stdin": PASSWORD_STDIN_HELP},
)
@operator_errors
def users_add_task(c, name, password_stdin=False):
    """Create an agent account (asks for the password)."""
    from ..access.users import check_name

    accounts = _accounts(c, "users.add")
    name = check_name(name, accounts.domain)
    password = _password(name, password_stdin)
    with _locked(c, "users.add"):
        accounts.add(name, password)
    ui.show(f"created {accounts.jid(name)}")


@task(
    name="passwd",
    positional=["name"],
    help={"name": "The agent's login name", "password-stdin": PASSWORD_STDIN_HELP},
)
@operator_errors
def users_passwd_task(c, name, password_stdin=False):
    """Set a new password for an agent account (asks for it)."""
    from ..access.users import check_name

    accounts = _accounts(c, "users.passwd")
    name = check_name(name, accounts.domain)
    password = _password(name, password_stdin)
    with _locked(c, "users.passwd"):
        accounts.passwd(name, password)
    ui.show(f"new password set for {accounts.jid(name)}")


@task(name="remove", positional=["name"], help={"name": "The agent's login name"})
@operator_errors
def users_remove_task(c, name):
    """Delete an agent account (meetings in progress go on; the next login fails)."""
    from ..access.users import check_name

    accounts = _accounts(c, "users.remove")
    name = check_name(name, accounts.domain)
    with _locked(c, "users.remove"):
        accounts.remove(name)
    ui.show(f"removed {accounts.jid(name)}")


@task(name="list", help={"json": "Machine-readable output"})
@operator_errors
def users_list_task(c, json=False):
    """List the agent accounts."""
    accounts = _accounts(c, "users.list")
    names = accounts.names()
    if json:
        rows = [{"name": n, "jid": accounts.jid(n)} for n in names]
        ui.plain(jsonlib.dumps({"domain": accounts.domain, "accounts": rows}, indent=2))
        return
    ui.show(ui.table(None, ["user", "login (JID)"], [[n, accounts.jid(n)] for n in names]))
    ui.info(f"{len(names)} account(s) on {accounts.domain}")


@task(
    name="import",
    positional=["file"],
    help={
        "file": "CSV with the header name,password (UTF-8; quote passwords with commas)",
        "update": "Set the file's password for accounts that exist (default: keep theirs)",
        "json": "Machine-readable output",
    },
)
@operator_errors
def users_import_task(c, file, update=False, json=False):
    """Create many agent accounts from a CSV file; every line is checked before any change."""
    from pathlib import Path

    from ..access.users import read_import

    accounts = _accounts(c, "users.import")
    wanted = read_import(Path(file), accounts.domain)
    with _locked(c, "users.import"):
        outcomes = accounts.import_(wanted, update=update)
    if json:
        ui.plain(_outcomes_json(outcomes))
    else:
        rows = [[str(o.line), o.name, o.action, o.message] for o in outcomes]
        ui.show(ui.table(None, ["line", "user", "result", "prosody"], rows))
        counts = {}
        for o in outcomes:
            counts[o.action] = counts.get(o.action, 0) + 1
        kept = " (password kept: --update sets it)" if counts.get("exists") else ""
        ui.info(", ".join(f"{n} {a}" for a, n in counts.items()) + kept)
    if not all(o.ok for o in outcomes):
        raise Exit(code=1)


# -- token: meeting links for JWT auth ------------------------------------------------------


@task(
    name="token",
    help={
        "room": "The meeting room the token opens, e.g. 'Ticket 4711' ('*': any room)",
        "name": "The participant's display name",
        "email": "The participant's email (optional; shown to moderators)",
        "moderator": "The participant is a moderator (needs auth.jwt.moderator_from_token)",
        "ttl": "Lifetime in seconds (default: auth.jwt.token_ttl)",
        "check": "Say whether prosody would accept this token ('-': read it from stdin)",
        "json": "Machine-readable output",
    },
)
@operator_errors
def token_task(c, room="", name="", email="", moderator=False, ttl="", check="", json=False):
    """Mint a token and meeting link for JWT auth, or check a token as prosody would."""
    import time

    from ..access import tokens
    from ..store import secrets as secret_store

    stack = _stack(c)
    jwt = stack.d.auth.jwt
    if jwt is None:
        now = stack.d.auth.type or "off"
        raise UsageError(
            f"token: tokens need auth.type: jwt (auth now: {now}): set auth.enabled: true, "
            "auth.type: jwt and auth.jwt.app_id in jitsi-stack.yml"
        )
    secret = stack.d.secret("JWT_APP_SECRET", secret_store.read(stack.d.root))
    if not secret:
        raise StackError("token: no JWT secret yet: run `inv render` (or `inv start`) first")
    if check:
        token = _stdin_token() if check == "-" else check
        verdict = tokens.check(
            token.strip(),
            secret=secret,
            accepted_issuers=list(jwt.issuers),
            accepted_audiences=list(jwt.audiences),
            algorithm=jwt.algorithm,
            room=room or None,
        )
        if json:
            shown = {"ok": verdict.ok, "rule": verdict.rule, "message": verdict.message}
            claims = _strict_json(verdict.claims)
            ui.plain(jsonlib.dumps(shown | {"claims": claims}, indent=2, allow_nan=False))
        elif verdict.ok:
            ui.show(verdict.message)
        else:
            ui.error(f"{verdict.rule}: {verdict.message}")
        if not verdict.ok:
            raise Exit(code=1)
        return
    if not room or not name:
        missing = " and ".join(f for f, v in (("--room", room), ("--name", name)) if not v)
        raise UsageError(f"token: give {missing}, e.g. inv token --room 'Ticket 4711' --name Alice")
    if moderator and not jwt.moderator_from_token:
        ui.warn(
            "--moderator is only honoured with auth.jwt.moderator_from_token: true; now "
            "every token holder is a moderator"
        )
    lifetime = _ttl(ttl) if ttl != "" else jwt.ttl
    minted = tokens.mint(
        secret=secret,
        app_id=jwt.app_id,
        issuer=jwt.issuers[0],
        audience=jwt.audiences[0],
        room=room,
        name=name,
        email=email,
        moderator=moderator,
        ttl=lifetime,
        algorithm=jwt.algorithm,
        subject=stack.d.domains.xmpp,
    )
    url = tokens.meeting_url(stack.d.urls.public, room, minted) if room != "*" else ""
    expires = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + lifetime))
    if json:
        ui.plain(jsonlib.dumps({"token": minted, "url": url, "expires": expires}, indent=2))
        return
    ui.plain(minted)
    if url:
        ui.plain(url)
    ui.info(f"valid until {expires} ({lifetime}s)")


def _strict_json(value):
    """A token's claims as strict JSON (a client's NaN or Infinity becomes the text 'nan',
    'inf': a backend's JSON parser refuses the bare words json.dumps would write)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict_json(v) for v in value]
    return value


MAX_TOKEN_TEXT = 1 << 20  # a JWT is a few hundred bytes; a MiB of stdin is not one


def _stdin_token() -> str:
    import sys

    text = sys.stdin.read(MAX_TOKEN_TEXT + 1)
    if len(text) > MAX_TOKEN_TEXT:
        raise UsageError("token --check: more than 1 MiB on stdin: pass one token")
    return text


def _ttl(text: str) -> int:
    """--ttl as a whole number of seconds within the tokens' limits (never a float: inf,
    nan and 1e400 are floats)."""
    from ..validators import MAX_TOKEN_TTL

    value = str(text)
    if not (value.isascii() and value.isdigit() and len(value) <= 10) or not (
        1 <= int(value) <= MAX_TOKEN_TTL
    ):
        raise UsageError(
            f"--ttl: {value[:40]!r} is not a whole number of seconds between 1 and "
            f"{MAX_TOKEN_TTL} (366 days): e.g. --ttl 3600"
        )
    return int(value)


# -- addresses: what the bridge advertises ----------------------------------------------------


@task(
    name="addresses",
    help={
        "refresh": "Detect `auto` again (after the host moved or its public IP changed)",
        "json": "Machine-readable output",
    },
)
@operator_errors
def addresses_task(c, refresh=False, json=False):
    """The addresses the bridge advertises to browsers, and where each comes from."""
    from ipaddress import ip_address

    from ..validators import is_public_ip

    found = detect_addresses(c, refresh=refresh)
    stack = _stack(c)
    rows = []
    for ip in stack.d.advertise_ips:
        if found and ip in found.public:
            source = f"public: STUN server {found.stun} ({found.at})"
        elif found and ip in found.lan:
            source = f"LAN: this host's default route ({found.at})"
        else:
            source = "jvb.advertise_ips"
        scope = "public" if is_public_ip(ip_address(ip.split("#")[0])) else "private"
        rows.append({"address": ip, "scope": scope, "source": source})
    if json:
        ui.plain(jsonlib.dumps({"advertise_ips": rows}, indent=2))
        return
    if not rows:
        ui.info("no address advertised: the bridge offers its container address (localhost only)")
        return
    table = [[r["address"], r["scope"], r["source"]] for r in rows]
    ui.show(ui.table(None, ["address", "scope", "from"], table))
    if refresh and found is not None:
        ui.info("stored; `inv start` applies it (the bridge is recreated when it changed)")


users = Collection(
    "users",
    users_add_task,
    users_passwd_task,
    users_remove_task,
    users_list_task,
    users_import_task,
)
