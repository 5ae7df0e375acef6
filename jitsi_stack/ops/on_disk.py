"""The deployment as the last render left it on disk, for when the settings do not load.

A typo in jitsi-stack.yml must not keep the operator from stopping the stack, reading its
logs and status, or taking the nightly backup. Those four tasks then work on what is
rendered: the Compose project's name and services from docker-compose.yml, the public URL
and ports from jitsi-meet/.env, the secrets to mask from jitsi-meet/.env and
.jitsi-stack/secrets.env. Every other task still refuses (it would act on settings that
are not there). `Rendered` offers the part of a Deployment those four tasks read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..deployment import SERVICE_PREFIX, Port, Urls, _urls
from ..deployment.facts import Certificate
from ..errors import SettingsError, StackError
from ..store import paths

MAX_BYTES = 1 << 20  # a rendered docker-compose.yml or .env is a few KiB
TASKS = ("stop", "logs", "status", "backup")  # what runs on a project whose settings fail


@dataclass(frozen=True)
class Service:
    key: str  # web, prosody, jvb2, ...
    name: str  # the compose service: jitsi-web

    @property
    def kind(self) -> str:
        return re.sub(r"[0-9]+$", "", self.key)


@dataclass(frozen=True)
class Rendered:
    root: Path
    project: str
    tag: str
    services: tuple[Service, ...]
    env: Mapping[str, str] = field(repr=False)
    urls: Urls
    certificate: Certificate | None = None
    extra_files: tuple[Path, ...] = ()  # the platform's files are named by the settings only
    frontend_file: Path | None = None  # named by the settings only, like extra_files
    health_interval: int = 10
    metrics: None = None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.services]

    def service(self, key_or_name: str) -> Service:
        for svc in self.services:
            if key_or_name in (svc.key, svc.name):
                return svc
        raise KeyError(key_or_name)

    def group(self, kind: str) -> list[Service]:
        return [s for s in self.services if s.kind == kind]

    def ports(self) -> list[Port]:
        port = self.env.get("HTTPS_PORT", "")
        if self.urls.scheme != "https" or not port.isdigit():
            return []
        return [Port("ports.https", int(port), 443)]

    def port(self, setting: str) -> Port:
        return next(p for p in self.ports() if p.setting == setting)

    @property
    def compose_files(self) -> tuple[Path, ...]:
        return (self.root / paths.COMPOSE_FILE, *self.extra_files)

    def hidden(self, stored: Mapping[str, str]) -> set[str]:
        """Stored secrets and every secret-named value of jitsi-meet/.env (the settings'
        own secrets, e.g. sip.password, are rendered there)."""
        from ..store.secrets import is_secret_name

        found = {v for v in stored.values() if v}
        return found | {v for k, v in self.env.items() if v and is_secret_name(k)}


def _read(root: Path, rel: str) -> str:
    from ..store import files

    data = files.read_bytes(root, rel)
    if data is None:
        raise StackError(f"no {rel} in {root}: nothing was rendered here to work on")
    if len(data) > MAX_BYTES:
        raise StackError(f"{rel}: more than {MAX_BYTES} bytes: render it again")
    return data.decode("utf-8", "replace")


def _dotenv(text: str) -> dict[str, str]:
    """jitsi-meet/.env as render.env_quote writes it."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if not sep or line.startswith("#") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        values[name] = value
    return values


def _own_certificate(root: Path) -> Certificate | None:
    """https.certificate as jitsi-stack.yml names it, read as plain YAML (best effort: the
    backup archives those files when the settings file still parses)."""
    from ..settings.layers import read_yaml

    try:  # bounded, regular files only (a FIFO named jitsi-stack.yml must not hang this)
        data = read_yaml(root / paths.SETTINGS_FILE, paths.SETTINGS_FILE)
        cert = data["https"]["certificate"]
        names = [cert["cert"], cert["key"]]
    except Exception:  # whatever does not parse names no certificate
        return None
    if not all(isinstance(n, str) and n and "\x00" not in n for n in names):
        return None
    found = [Path(n) if Path(n).is_absolute() else root / n for n in names]
    return Certificate(found[0], found[1])


def load(root: Path) -> Rendered:
    """What the last render left in root; StackError when there is none to work on."""
    import yaml

    root = Path(root).resolve()
    try:
        compose = yaml.safe_load(_read(root, paths.COMPOSE_FILE)) or {}
        services = compose["services"]
        project = str(compose["name"])
        if not isinstance(services, dict):
            raise TypeError
    except (yaml.YAMLError, KeyError, TypeError):
        raise StackError(
            f"{paths.COMPOSE_FILE}: not the file jitsi-stack renders: fix the settings and "
            "run `inv render`"
        ) from None
    env = _dotenv(_read(root, paths.ENV_FILE)) if (root / paths.ENV_FILE).exists() else {}
    found = tuple(Service(str(name).removeprefix(SERVICE_PREFIX), str(name)) for name in services)
    web = services.get(f"{SERVICE_PREFIX}web") or {}
    image = str(web.get("image") or "") if isinstance(web, dict) else ""
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    return Rendered(
        root=root,
        project=project,
        tag=tag,
        services=found,
        env=env,
        urls=_urls(env.get("PUBLIC_URL") or "http://localhost", False),
        certificate=_own_certificate(root),
    )


def problem_line(err: SettingsError) -> str:
    """The settings' problem in one line: the first, and how many more there are."""
    problems = [p for p in err.problems if p] or [str(err)]
    more = f" (and {len(problems) - 1} more: `inv lint` lists them)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"


def settings_files(root: Path) -> list[Path]:
    """The settings files a backup archives when they do not load: as they are on disk."""
    import os

    from ..settings.layers import settings_files as named

    try:
        found = [path for _, path, _ in named(root, os.environ)]
    except SettingsError:
        found = [root / paths.SETTINGS_FILE, root / paths.LOCAL_SETTINGS]
    return [p for p in found if os.path.lexists(p)]
