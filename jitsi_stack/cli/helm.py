"""Kubernetes: `inv helm.values` writes a values file for the community Helm chart
(jitsi-contrib/jitsi-helm) from the same settings and Deployment as the Compose stack."""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Collection, task

from .. import ui
from ..errors import StackError, UsageError
from .support import _locked, operator_errors, session

DEFAULT_TARGET = "helm/values.yaml"


def target(root: Path, given: str, settings_files=()) -> str:
    """The values file as a path inside the project, or a one-line refusal. Never resolved
    through a link: the write walks the path with O_NOFOLLOW."""
    from ..store import paths

    path = Path(given or DEFAULT_TARGET)
    if not path.is_absolute():
        path = (Path.cwd() if given else root) / path
    absolute = Path(os.path.abspath(path))
    rel = None
    for base in (Path(os.path.abspath(root)), Path(root).resolve()):
        if absolute.is_relative_to(base) and absolute != base:
            rel = absolute.relative_to(base).as_posix()
            break
    if rel is None:
        raise UsageError(
            f"--to: {given} is outside the project {root}: give a path inside it, "
            f"e.g. --to {DEFAULT_TARGET}"
        )
    managed = {paths.STATE_DIR, paths.CONFIG_DIR, paths.BACKUP_ARCHIVES}
    settings = {Path(os.path.abspath(f)) for f in settings_files}
    name = Path(rel).name
    if (
        rel in paths.GENERATED
        or paths.top(rel) in managed
        or absolute in settings
        or (name.startswith("jitsi-stack") and name.endswith((".yml", ".yaml")))
    ):
        raise UsageError(
            f"--to: {rel} is a file jitsi-stack manages or reads: give another file, "
            f"e.g. --to {DEFAULT_TARGET}"
        )
    return rel


@task(
    name="values",
    help={
        "to": f"The values file to write, inside the project (default {DEFAULT_TARGET})",
        "json": "Machine-readable output (the Secrets, what is not carried over, commands)",
    },
)
@operator_errors
def values_task(c, to="", json=False):
    """Write a values file for the Helm chart jitsi-contrib/jitsi-helm; print the Secrets
    to create (values masked) and the helm command."""
    from .. import helm
    from ..store import files, paths
    from ..store import secrets as store

    here = session(c)
    root, s = here.root, here.settings
    rel = target(root, to, s.files)
    d = here.d
    hv = helm.build(d, s)
    stored = store.read(root)
    hidden = d.hidden(stored)
    if any(value in hv.text for value in hidden if value):
        raise StackError(f"a secret would be written to {rel}: report this bug")
    with _locked(c, "helm.values"):
        written = files.read_text(root, rel) != hv.text  # refuses a link at rel
        if written:
            files.write_atomic(root, rel, hv.text, mode=0o644)
    chart = f"{helm.CHART} {s['helm.chart_version']}"
    namespace = s["helm.namespace"]
    if json:
        _print_json(hv, rel, chart, written, namespace, stored, store.MASK, s)
        return
    ui.info(f"wrote {rel} (chart {chart})" if written else f"{rel} is up to date (chart {chart})")
    rows = []
    for ref in hv.secrets:
        rows += [[ref.name, k, v, ref.referenced_by] for k, v in ref.literals]
        rows += [
            [ref.name, k, src, ref.referenced_by]
            for k, src in zip(ref.keys, ref.sources, strict=True)
        ]
    ui.show(ui.table(None, ["Kubernetes Secret", "key", "value from", "values key"], rows))
    if hv.notes:
        ui.show(ui.table(None, ["setting", "not carried over to the chart"], list(hv.notes)))
    missing = [
        key
        for ref in hv.secrets
        for key, source in zip(ref.keys, ref.sources, strict=True)
        if source == paths.SECRETS and key not in stored
    ]
    if missing:
        ui.info(
            f"not generated yet: {', '.join(missing)}: `inv render` creates them in "
            f"{paths.SECRETS} (or choose new values for the cluster)"
        )
    ui.info(f"create the Secrets first, each {store.MASK} replaced by the value named above:")
    for line in helm.kubectl_commands(hv, namespace, store.MASK):
        ui.plain(line)
    ui.info("then install or upgrade the release:")
    ui.plain(helm.install_command(s, rel))


def _print_json(hv, rel, chart, written, namespace, stored, mask, s) -> None:
    import json as jsonlib

    from .. import helm
    from ..store import paths

    secrets = [
        {
            "name": ref.name,
            "values_key": ref.referenced_by,
            "keys": [
                {"key": key, "value_from": source, "generated": key in stored}
                if source == paths.SECRETS
                else {"key": key, "value_from": source}
                for key, source in zip(ref.keys, ref.sources, strict=True)
            ]
            + [{"key": key, "value": value} for key, value in ref.literals],
        }
        for ref in hv.secrets
    ]
    result = {
        "values_file": rel,
        "written": written,
        "chart": chart,
        "secrets": secrets,
        "not_carried_over": [{"setting": a, "why": b} for a, b in hv.notes],
        "kubectl": helm.kubectl_commands(hv, namespace, mask),
        "helm": helm.install_command(s, rel),
    }
    ui.plain(jsonlib.dumps(result, indent=2))


helm = Collection("helm", values_task)
