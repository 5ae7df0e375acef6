"""`inv adopt`'s .env reader (jitsi_stack/ops/compose_env.py) agrees with the real
`docker compose config` on every value of a table of tricky dotenv lines.

Compose reads the file with compose-go's dotenv package; each variable is fed back through
a service's `environment:` and read from `docker compose config --format json` (which
writes every `$` of a value as `$$`). The OS environment is emptied (env -i) because
Compose gives it precedence over the file, and adopt reads the file alone. No container
starts: `config` only parses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jitsi_stack.ops import compose_env

pytestmark = pytest.mark.docker

# (line, why it is tricky); the names are unique, so each line is one variable
LINES = [
    ("PLAIN=meet.example.com", "plain"),
    ("export EXPORTED=yes", "export prefix"),
    ("SPACED = around ", "blanks around = and after the value"),
    ("INLINE=value # a comment", "inline comment after a space"),
    ("HASH=a#b", "# without a space is part of the value"),
    ("TABHASH=x\t#tab", "a tab before # is not a comment for Compose"),
    ("SQ='single $PLAIN \\\\ kept'", "single quotes: no interpolation, backslashes kept"),
    ('DQ="double $PLAIN \\\\ one"', "double quotes: interpolation, \\\\ is one backslash"),
    ('DQESC="a\\"b \\$c"', 'escaped " and $ in double quotes'),
    ('DQNL="line1\\nline2"', "\\n becomes a line break"),
    ("SQQ='it\\'s'", "escaped single quote"),
    ("BRACED=${PLAIN}/x", "braced interpolation"),
    ("UNBRACED=$PLAIN-x", "unbraced interpolation"),
    ("DEFAULT=${NOPE:-fallback}", ":- default"),
    ("EMPTY=", "empty value"),
    ("EMPTYDEF=${EMPTY:-d1}|${EMPTY-d2}", ":- and - on an empty variable"),
    ("ALT=${PLAIN:+alt}|${NOPE:+alt}", ":+ alternative"),
    ("NESTED=${NOPE:-${PLAIN}}", "nested default"),
    ("DOLLAR=a$$b", "$$ is one literal $"),
    ("LONE=cost$", "a $ at the end"),
    ("DIGIT=$1x", "$ before a digit stays"),
    ("YAML: style", "KEY: value"),
    ("CRLF=windows\r", "a CRLF line end"),
    ('QCRLF="quoted"\r', "a quoted value before CRLF"),
    ('MULTI="first\nsecond"', "a line break inside double quotes"),
    ('AFTER="q" # comment', "comment after a quoted value"),
    ("DUP=first", "a name given twice: the last wins"),
    ("DUP=second", "a name given twice: the last wins"),
    ("LATER=${UNSETYET}", "a name set only further down is empty"),
    ("UNSETYET=now", ""),
    ("BRACE=${PLAIN:-a}b}", "a } after the closing brace is text"),
    ('OCT="\\0101"', "octal escape"),
    ("UNI=grüße ✓", "UTF-8"),
]


def test_reader_agrees_with_docker_compose_config(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    assert docker, "docker CLI missing"
    text = "\n".join(line for line, _ in LINES) + "\n"
    (tmp_path / ".env").write_bytes(text.encode("utf-8"))
    ours = compose_env.read(text.encode("utf-8"), ".env").values()
    assert ours["DUP"] == "second"
    names = sorted(ours)
    env_lines = "".join(f'      {n}: "${{{n}}}"\n' for n in names)
    (tmp_path / "compose.yml").write_text(
        f"services:\n  probe:\n    image: busybox\n    environment:\n{env_lines}"
    )
    done = subprocess.run(  # noqa: S603 - fixed argv
        [docker, "compose", "-p", "jsadopt-dotenv", "config", "--format", "json"],
        cwd=tmp_path,
        env={k: os.environ[k] for k in ("PATH", "HOME", "DOCKER_CONFIG") if k in os.environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    theirs = json.loads(done.stdout)["services"]["probe"]["environment"]
    theirs = {k: (v or "").replace("$$", "$") for k, v in theirs.items()}
    differ = {n: (ours[n], theirs.get(n)) for n in names if ours[n] != theirs.get(n)}
    assert not differ, differ
    assert set(theirs) == set(names)
