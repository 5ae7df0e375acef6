"""`inv dev-ca.*`: the development CA that lets the stack serve https in development
(frontend.dev_https): make this machine's browsers trust it, and see its days left."""

from __future__ import annotations

import json as jsonlib
import os
import shlex
from pathlib import Path

from invoke import Collection, task

from .. import ui
from ..errors import StackError
from .support import operator_errors, session

NICK = "jitsi-stack development CA"


def trust_commands(root: Path, home: Path, root_user: bool) -> list[list[str]]:
    """The commands that make this machine trust the CA: the system store (Debian's
    update-ca-certificates: curl, Chromium on Linux through NSS is separate) and the NSS
    databases Chromium (~/.pki/nssdb) and each Firefox profile read."""
    from ..store import devca

    ca = str(root / devca.CA_CERT)
    sudo = [] if root_user else ["sudo"]
    commands = [
        [*sudo, "install", "-m", "0644", ca, devca.SYSTEM_ANCHOR],
        [*sudo, "update-ca-certificates"],
        ["mkdir", "-p", str(home / ".pki/nssdb")],
        ["certutil", "-d", f"sql:{home / '.pki/nssdb'}", "-A", "-t", "C,,", "-n", NICK, "-i", ca],
    ]
    firefox = home / ".mozilla/firefox"
    if firefox.is_dir():
        for profile in sorted(firefox.iterdir()):
            if (profile / "cert9.db").is_file():
                commands.append(
                    ["certutil", "-d", f"sql:{profile}", "-A", "-t", "C,,", "-n", NICK, "-i", ca]
                )
    return commands


def _bundle(c):
    from ..store import devca

    root = session(c).root
    found = devca.peek(root)
    if found is None:
        raise StackError(
            f"{devca.DIR}: no development CA yet: run `inv render` (or `inv start`) first; "
            "it is made when frontend.dev_https serves https"
        )
    return root, found


@task(
    name="trust",
    help={"print": "Print the commands (for those who run them by hand) and run nothing"},
)
@operator_errors
def trust_task(c, print=False):  # noqa: A002 - the flag's name is --print
    """Make this machine's browsers trust the development CA: the system store and the NSS
    stores Chromium and Firefox read (certutil, Debian's libnss3-tools)."""
    import shutil

    root, _found = _bundle(c)
    home = Path(os.environ.get("HOME") or Path.home())
    commands = trust_commands(root, home, os.geteuid() == 0)
    if print:
        for argv in commands:
            ui.plain(shlex.join(argv))
        return
    runner = session(c).runner
    for argv in commands:
        tool = argv[1] if argv[0] == "sudo" else argv[0]
        if shutil.which(tool) is None:
            ui.warn(f"{tool} not found: skipped `{shlex.join(argv)}` (Debian: libnss3-tools)")
            continue
        runner.run(argv, what=tool)
    ui.info("trusted: restart the browser so it reads its stores again")


@task(name="status", help={"json": "Machine-readable output"})
@operator_errors
def status_task(c, json=False):
    """The development CA and the certificate web serves: expiry, days left, trust."""
    from ..store import devca

    _root, found = _bundle(c)
    shown = {
        "ca_sha256": found.fingerprint,
        "ca_expires": f"{found.ca_not_after:%Y-%m-%d}",
        "certificate_expires": f"{found.not_after:%Y-%m-%d}",
        "days_left": found.days_left(),
        "renewed_with_days_left": devca.RENEW_DAYS,
        "trusted_by_system": devca.trusted(found),
        "spki_sha256": found.spki_sha256,
    }
    if json:
        ui.plain(jsonlib.dumps(shown, indent=2))
        return
    rows = [[key.replace("_", " "), str(value)] for key, value in shown.items()]
    ui.show(ui.table(None, ["development CA", "value"], rows))


devca_collection = Collection("dev-ca", trust_task, status_task)
