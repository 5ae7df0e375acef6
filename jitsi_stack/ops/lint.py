"""Lint settings files before anything starts: `python -m jitsi_stack.ops.lint [FILE...]`.

For each settings file: the production rules (rules.check strict), a strict
render into a scratch directory, yamllint on the rendered compose file, and
`docker compose config --quiet` on it when Compose v2 is installed (else the
Compose specification's JSON schema, when the jsonschema package and a schema
file are available). Prints one line per problem; exit 1 when any.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

from .. import docker
from ..deployment import build
from ..errors import StackError
from ..render import apply
from ..settings import project
from ..settings.layers import ENV_PREFIX
from ..store import paths
from ..store.files import NotRegular, read_bounded, read_regular
from . import preflight
from .stack import Stack

YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: {max: 160}
  document-start: disable
  comments: {min-spaces-from-content: 1}
  truthy: {check-keys: false}
"""


def _yamllint(text: str) -> list[str]:
    try:
        from yamllint import linter
        from yamllint.config import YamlLintConfig
    except ImportError:
        return []
    conf = YamlLintConfig(YAMLLINT_CONFIG)
    return [
        f"docker-compose.yml:{p.line}: yamllint: {p.desc} ({p.rule})"
        for p in linter.run(text, conf)
        if p.level == "error"
    ]


def _compose_config(stack: Stack) -> list[str]:
    try:
        stack.compose.run("config", "--quiet", timeout=60)
    except docker.DockerError as err:
        return [f"compose files: docker compose config: {docker.errors.last_line(err.stderr)}"]
    return []


def _schema(files: list[Path]) -> list[str]:
    """Validate compose files against the Compose specification's JSON schema."""
    import jsonschema
    import yaml

    text = resources.files("jitsi_stack").joinpath("data/compose-spec.json").read_text("utf-8")
    validator = jsonschema.Draft7Validator(json.loads(text))
    problems = []
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for error in sorted(validator.iter_errors(document), key=str)[:5]:
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            problems.append(f"{path.name}: compose schema: {where}: {error.message}")
    return problems


def lint_file(path: Path | None, use_compose: bool) -> tuple[list[str], list[str]]:
    """(problems, warnings) for one settings file (None: defaults only)."""
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-lint-") as scratch:
        base = Path(scratch)
        if path is not None:
            try:  # regular files of bounded size only: a FIFO or a device is never read
                (base / paths.SETTINGS_FILE).write_bytes(
                    read_regular(path, label=str(path), what="a settings file", follow=True)
                )
                for extra in _extra_files(path):
                    target = base / extra
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(
                        read_regular(
                            path.parent / extra, label=extra, what="a compose file", follow=True
                        )
                    )
            except StackError as err:
                return [str(err)], []
        environ = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        try:
            loaded = project.load(base, strict=True, environ=environ, use_state=False)
            d = build(loaded)
            apply.apply(d)
        except StackError as err:
            return str(err).splitlines(), []
        text = (base / paths.COMPOSE_FILE).read_text(encoding="utf-8")
        problems = _yamllint(text)
        if use_compose:
            problems += _compose_config(Stack(d))
        else:
            problems += _schema([p for p in d.compose_files if p.exists()])
        return problems, loaded.warnings


def _extra_files(path: Path) -> list[str]:
    import yaml

    try:
        data = yaml.safe_load(read_bounded(path, follow=True).decode("utf-8")) or {}
        return [
            f
            for f in (data.get("compose") or {}).get("extra_files", [])
            if not Path(f).is_absolute() and (path.parent / f).is_file()
        ]
    except (yaml.YAMLError, AttributeError, OSError, ValueError, NotRegular):
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="settings files (default: defaults)")
    args = parser.parse_args(argv)
    use_compose = preflight.docker_problem() is None
    targets = args.files or [None]
    failed = 0
    for path in targets:
        name = str(path) if path else "(defaults)"
        problems, warnings = lint_file(path, use_compose)
        for warning in warnings:
            print(f"{name}: warning: {warning}")
        for problem in problems:
            print(f"{name}: {problem}")
        if problems:
            failed += 1
        else:
            print(f"{name}: ok")
    check = "docker compose config" if use_compose else "the compose JSON schema"
    print(
        f"{len(targets) - failed} of {len(targets)} settings file(s) pass (compose checked "
        f"with {check})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
