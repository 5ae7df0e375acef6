"""Lint settings files before anything starts: `python -m jitsi_stack.lint [FILE...]`.

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
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import render, rules, settings
from .errors import StackError

YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: {max: 160}
  document-start: disable
  comments: {min-spaces-from-content: 1}
  truthy: {check-keys: false}
"""


def compose_available() -> bool:
    if not shutil.which("docker"):
        return False
    proc = subprocess.run(
        ["docker", "compose", "version", "--short"], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and proc.stdout.strip().lstrip("v").startswith("2")


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


def _compose_config(loaded: settings.Settings) -> list[str]:
    from . import compose

    result = compose.run(loaded, "config", "--quiet", timeout=60)
    if result.ok:
        return []
    last = result.stderr.strip().splitlines()[-1:] or ["(no output)"]
    return [f"compose files: docker compose config: {last[0]}"]


def _schema(paths: list[Path]) -> list[str]:
    """Validate compose files against the Compose specification's JSON schema."""
    import jsonschema
    import yaml

    schema = json.loads(Path(__file__).with_name("compose-spec.json").read_text("utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    problems = []
    for path in paths:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for error in sorted(validator.iter_errors(document), key=str)[:5]:
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            problems.append(f"{path.name}: compose schema: {where}: {error.message}")
    return problems


def lint_file(path: Path | None, use_compose: bool | None = None) -> tuple[list[str], list[str]]:
    """(problems, warnings) for one settings file (None: defaults only)."""
    if use_compose is None:
        use_compose = compose_available()
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-lint-") as scratch:
        base = Path(scratch)
        if path is not None:
            shutil.copy(path, base / settings.SETTINGS_FILE)
            for extra in _extra_files(path):
                target = base / extra
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path.parent / extra, target)
        env = {k: v for k, v in os.environ.items() if not k.startswith(settings.ENV_PREFIX)}
        try:
            loaded = settings.load(base, environ=env, validate_rules=False)
        except StackError as err:
            return str(err).splitlines(), []
        errors, warnings = rules.check(loaded, strict=True)
        if errors:
            return errors, warnings
        loaded.warnings = warnings
        try:
            render.render(loaded)
        except StackError as err:
            return str(err).splitlines(), warnings
        text = (base / render.COMPOSE_FILE).read_text(encoding="utf-8")
        problems = _yamllint(text)
        if use_compose:
            problems += _compose_config(loaded)
        else:
            from . import compose

            problems += _schema([p for p in compose.files(loaded) if p.exists()])
        return problems, warnings


def _extra_files(path: Path) -> list[str]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return [
            f
            for f in (data.get("compose") or {}).get("extra_files", [])
            if not Path(f).is_absolute() and (path.parent / f).is_file()
        ]
    except (yaml.YAMLError, AttributeError, OSError):
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="settings files (default: defaults)")
    args = parser.parse_args(argv)
    use_compose = compose_available()
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
