"""`inv users.*`: the call center's agent accounts, kept by prosody (auth.type: internal).

Every change goes through prosody's admin shell in the running prosody container
(`prosodyctl shell`, the interface upstream's own register-setup uses), with the
commands written to its stdin: a password never appears in an argv, where `ps` on the
host or in the container would show it, nor in any output (answers are masked).

Names are checked before prosody sees them, all of them before the first change: an
import file with one bad line changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..deployment import ACCOUNT_OF
from ..errors import StackError, UsageError
from ..settings.upstream import PROSODY_CONFIG
from ..store import secrets as secret_store

# A localpart prosody stores unchanged (nodeprep lower-cases, and forbids "&'/:<>@ and
# spaces): lower-case ASCII letters, digits and . _ -, starting with a letter or digit.
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# The service accounts (on the auth domain, but one name for two things confuses people).
RESERVED = frozenset(ACCOUNT_OF.values())
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
IMPORT_COLUMNS = ("name", "password")
MAX_IMPORT_BYTES = 1 << 20  # 10 000 agents at 100 bytes a line
MAX_IMPORT_ERRORS = 20  # shown of a bad import file; the count says how many more


@dataclass(frozen=True)
class Outcome:
    """What prosody answered for one account."""

    name: str
    action: str  # created, exists, updated, removed, failed
    message: str  # prosody's words
    line: int = 0  # of the import file

    @property
    def ok(self) -> bool:
        return self.action != "failed"


@dataclass(frozen=True)
class Account:
    name: str
    password: str = field(repr=False)
    line: int = 0


# -- validation ----------------------------------------------------------------------


def check_name(name: str, domain: str) -> str:
    """The account name, or a UsageError naming the fix (it quotes the name: an operator
    typed it; import files never come here, see name_problem)."""
    local, problem = name_problem(name, domain)
    if problem is None:
        return local
    shown = name if len(name) <= 70 else name[:67] + "..."
    if problem is _EMPTY:
        raise UsageError(f"user name: {problem}")
    if problem is _OTHER_DOMAIN:
        host = name.partition("@")[2]
        raise UsageError(
            f"user name {shown!r}: accounts live on {domain}: give the name without @{host}"
        )
    if problem is _UPPER:
        raise UsageError(
            f"user name {shown!r}: prosody stores names in lower case: use {local.lower()!r}"
        )
    if problem is _NOT_A_NAME:
        raise UsageError(
            f"user name {shown!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    raise UsageError(f"user name {local!r}: {problem}")


_EMPTY = "empty: give the agent's login name, e.g. agent042"
_OTHER_DOMAIN = "names an account on another domain"
_UPPER = "has upper-case letters, and prosody stores names in lower case: write it in lower case"
_NOT_A_NAME = (
    "not a login name: use 1-64 lower-case letters, digits, '.', '_' or '-', starting "
    "with a letter or digit"
)
_RESERVED = f"is the name of a Jitsi service account ({', '.join(sorted(RESERVED))}): pick another"


def name_problem(name: str, domain: str) -> tuple[str, str | None]:
    """(the local part, None) for a good name, else (_, what is wrong) in words that never
    repeat the name: a cell of an import file may hold a password."""
    if not name:
        return name, _EMPTY
    if "@" in name:
        local, _, host = name.partition("@")
        if host != domain:
            return local, _OTHER_DOMAIN
        name = local
    if name != name.lower() and NAME.fullmatch(name.lower()):
        return name, _UPPER
    if not NAME.fullmatch(name):
        return name, _NOT_A_NAME
    if name in RESERVED:
        return name, _RESERVED
    return name, None


def check_password(password: str, name: str) -> str:
    """The password, or a UsageError that never shows it."""
    problem = password_problem(password, name)
    if problem:
        raise UsageError(f"password for {name}: {problem}")
    return password


def password_problem(password: str, name: str) -> str | None:
    """What is wrong with a password, in words that show neither it nor the name."""
    if len(password) < MIN_PASSWORD:
        return f"shorter than {MIN_PASSWORD} characters: use a longer one"
    if len(password) > MAX_PASSWORD:
        return f"longer than {MAX_PASSWORD} characters"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in password):
        return "has a control character (newline, tab, ...): remove it"
    if password != password.strip():
        return "starts or ends with a space (a copy-paste slip?): remove it"
    if password.lower() == name.lower():
        return "is the user name: pick another"
    return None


def read_import(path: Path, domain: str) -> list[Account]:
    """Every account of a CSV file (header `name,password`), all lines checked first."""
    from ..store.files import NotRegular, read_bounded, refusal

    try:
        raw = read_bounded(path, limit=MAX_IMPORT_BYTES)
    except NotRegular as refused:
        fix = "split it" if "the most" in refused.why else "give the CSV file"
        raise UsageError(refusal(str(path), refused, "an import file", fix)) from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file: give the CSV of agents (name,password)") from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read it ({err.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: is not UTF-8 text: save it as UTF-8 CSV") from None
    if "\0" in text:
        raise UsageError(f"{path}: has NUL bytes: is it a spreadsheet, not CSV? Export as CSV")
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(rows, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(rows, None)
        if header is None:
            raise UsageError(f"{path}: is empty: the first line is the header name,password")
        columns = tuple(c.strip().lower() for c in header)
        if columns != IMPORT_COLUMNS:  # its values are not shown: it may be an account
            raise UsageError(
                f"{path}:{rows.line_num}: the first line must be the header "
                f"{','.join(IMPORT_COLUMNS)} (it has {len(header)} other field(s))"
            )
        problems: list[str] = []
        accounts: list[Account] = []
        seen: dict[str, int] = {}
        for row in rows:
            number = rows.line_num
            if not any(c.strip() for c in row):
                continue
            column, why = _row_problem(row, domain, seen, number)
            if why:  # the row and column are named, never a cell: it may be a password
                problems.append(f"{path}:{number}: column {column}: {why}")
            else:
                accounts.append(Account(seen_name(row, domain), row[1], number))
    except csv.Error as err:
        raise UsageError(
            f"{path}:{rows.line_num}: not valid CSV ({err}): check the quotes on that line"
        ) from None
    if problems:
        more = len(problems) - MAX_IMPORT_ERRORS
        lines = problems[:MAX_IMPORT_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
        raise UsageError(
            "\n".join(lines) + f"\n{path}: {len(problems)} bad line(s): nothing was imported"
        )
    if not accounts:
        raise UsageError(f"{path}: has a header but no accounts")
    return accounts


def seen_name(row: list[str], domain: str) -> str:
    return name_problem(row[0].strip(), domain)[0]


def _row_problem(
    row: list[str], domain: str, seen: dict[str, int], number: int
) -> tuple[str, str | None]:
    """(column, what is wrong) of one import row, or (_, None); records a good name."""
    if len(row) != len(IMPORT_COLUMNS):
        return "name", (
            f"{len(row)} fields, expected {len(IMPORT_COLUMNS)} (name,password): "
            "quote a password with a comma in double quotes"
        )
    name, problem = name_problem(row[0].strip(), domain)
    if problem is _OTHER_DOMAIN:
        return "name", (
            f"{problem}: accounts live on {domain}: give the name without @ and what follows"
        )
    if problem is _NOT_A_NAME:
        return "name", f"{problem} (are the columns swapped? the header is name,password)"
    if problem:
        return "name", problem
    if name in seen:
        return "name", f"the same user as line {seen[name]}: list each user once"
    seen[name] = number
    problem = password_problem(row[1], name)
    return "password", problem


# -- prosody's admin shell -------------------------------------------------------------


def lua_string(text: str) -> str:
    """A Lua string literal for text: every byte outside printable ASCII as \\ddd, so a
    quote, backslash or newline in a password cannot end the string or the line."""
    out = ['"']
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class Answer:
    ok: bool
    text: str


# prosodyctl shell's REPL, read without readline: each answer follows the prompt it was
# asked at ("prosody> "); `| ` marks output and results, `! ` an error; a result's text
# starts "OK: " or "Error: " (mod_admin_shell handle_line, the same in 0.12 and 13).
ANSWER = re.compile(r"^(?:\S*> )*([|!])(?: (.*))?$")


def parse_answers(output: str) -> list[Answer]:
    """Every `|` or `!` line of the shell's output, in order, prefixes removed."""
    answers = []
    for line in output.splitlines():
        match = ANSWER.match(line)
        if match:
            text = match.group(2) or ""
            for prefix in ("OK: ", "Error: "):
                text = text.removeprefix(prefix)
            answers.append(Answer(match.group(1) == "|", text))
    return answers


class ProsodyShell:
    """prosodyctl's admin shell in the stack's prosody (it must be running)."""

    def __init__(self, stack, prosody=None, absent: str = "", task: str = "users") -> None:
        """prosody: what runs prosodyctl in prosody's container (`.exec(service, *cmd,
        timeout=, input=)`): the Compose project's by default, a Swarm stack's through its
        manager; absent: what to say when prosody does not run there; task: the name the
        errors start with."""
        self.stack = stack
        self.prosody = prosody if prosody is not None else stack.compose
        self.absent = absent or "prosody is not running: run `inv start` first"
        self.task = task
        self.hidden: set[str] = set()

    def shell(self, commands: list[str], *, what: str) -> list[Answer]:
        """Run admin-shell commands in prosody; one result per command (in order)."""
        stack = self.stack
        service = stack.d.service("prosody").name
        text = "\n".join(commands) + "\n"
        result = self.prosody.exec(
            service,
            "prosodyctl",
            "--config",
            PROSODY_CONFIG,
            "shell",
            "--quiet",
            input=text,
            timeout=60 + 0.1 * len(commands),
        )
        if stack.runner.dry:
            return [Answer(True, "dry run") for _ in commands]
        output = self.mask(result.stdout + "\n" + result.stderr)
        where = f"{self.task} {what}".strip()
        if "is not running" in result.stderr and result.argv == ("docker", "exec"):
            raise StackError(f"{where}: {self.absent}")
        if "Unable to connect to server" in output or "Connection error" in output:
            raise StackError(
                f"{where}: prosody's admin shell does not answer (is prosody healthy? `inv status`)"
            )
        answers = parse_answers(output)
        if not result.ok and not answers:
            raise StackError(f"{where}: prosodyctl failed: {_last(output)}")
        return answers

    def mask(self, text: str) -> str:
        return secret_store.mask(text, self.hidden | self.stack.hidden())


class Accounts(ProsodyShell):
    """The agent accounts of one stack (its prosody must be running)."""

    def __init__(self, stack, prosody=None, absent: str = "") -> None:
        auth = stack.d.auth
        if not auth.internal:
            now = "off" if not auth.type else f"auth.type: {auth.type}"
            hint = (
                "with JWT, agents get tokens: inv token --room ROOM --name NAME"
                if auth.type == "jwt"
                else "set auth.enabled: true and auth.type: internal in jitsi-stack.yml, "
                "then inv start"
            )
            raise UsageError(
                f"users: prosody keeps accounts only with internal auth ({now}): {hint}"
            )
        super().__init__(stack, prosody, absent)
        self.domain = stack.d.domains.xmpp

    def jid(self, name: str) -> str:
        return f"{name}@{self.domain}"

    # -- the verbs ---------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every account on the XMPP domain, sorted."""
        answers = self.shell([f"user:list({lua_string(self.domain)})"], what="list")
        if answers and not answers[-1].ok:
            raise StackError(f"users list: prosody says: {answers[-1].text}")
        suffix = "@" + self.domain
        names = [a.text[: -len(suffix)] for a in answers if a.ok and a.text.endswith(suffix)]
        return sorted(names)

    def change(self, accounts: Iterable[Account], verb: str) -> list[Outcome]:
        """create / password / delete for each account; one Outcome each, in order."""
        accounts = list(accounts)
        # the values and their Lua spelling (an answer quoting a command shows the latter)
        self.hidden |= {a.password for a in accounts if a.password}
        self.hidden |= {lua_string(a.password)[1:-1] for a in accounts if a.password}
        commands = []
        for account in accounts:
            jid = lua_string(self.jid(account.name))
            if verb == "delete":
                commands.append(f"user:delete({jid})")
            else:
                commands.append(f"user:{verb}({jid}, {lua_string(account.password)})")
        if not commands:
            return []
        answers = self.shell(commands, what=verb)
        if len(answers) != len(commands):
            raise StackError(
                f"users {verb}: prosody answered {len(answers)} of {len(commands)} commands; "
                "check with `inv users.list` and run again"
            )
        done = {"create": "created", "password": "updated", "delete": "removed"}[verb]
        outcomes = []
        for account, answer in zip(accounts, answers, strict=True):
            if answer.ok:
                action = done
            elif verb == "create" and answer.text.strip() == "User exists":
                action = "exists"
            else:
                action = "failed"
            outcomes.append(Outcome(account.name, action, answer.text.strip(), account.line))
        return outcomes

    def add(self, name: str, password: str) -> Outcome:
        (outcome,) = self.change([Account(name, password)], "create")
        if outcome.action == "exists":
            raise StackError(
                f"users add: {self.jid(name)} exists: change its password with "
                f"`inv users.passwd {name}`"
            )
        return _checked(outcome, "add")

    def passwd(self, name: str, password: str) -> Outcome:
        (outcome,) = self.change([Account(name, password)], "password")
        return _checked(outcome, "passwd", self.jid(name))

    def remove(self, name: str) -> Outcome:
        (outcome,) = self.change([Account(name, "")], "delete")
        return _checked(outcome, "remove", self.jid(name))

    def import_(self, accounts: list[Account], *, update: bool) -> list[Outcome]:
        """Create every account; existing ones keep their password unless update."""
        outcomes = self.change(accounts, "create")
        if update:
            again = [a for a, o in zip(accounts, outcomes, strict=True) if o.action == "exists"]
            updated = {o.name: o for o in self.change(again, "password")}
            outcomes = [updated.get(o.name, o) for o in outcomes]
        return outcomes


def _checked(outcome: Outcome, verb: str, jid: str = "") -> Outcome:
    if outcome.ok:
        return outcome
    if outcome.message == "No such user":
        raise StackError(f"users {verb}: no account {jid}: `inv users.list` shows them")
    raise StackError(f"users {verb}: prosody says: {outcome.message}")


def _last(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
