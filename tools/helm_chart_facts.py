"""Write tests/data/jitsi-helm-<version>-facts.json: the facts of the Helm chart
jitsi-contrib/jitsi-helm that tests/unit/helm/test_helm.py checks `inv helm.values` against,
read from the chart's own files at its release tag. The project keeps these facts, not
copies of the chart's files.

    # a clone of the chart (any: a bare mirror does)
    git clone --bare https://github.com/jitsi-contrib/jitsi-helm /tmp/jitsi-helm.git
    python tools/helm_chart_facts.py /tmp/jitsi-helm.git            # writes the file
    python tools/helm_chart_facts.py /tmp/jitsi-helm.git --check    # exit 1 when it differs

The tag is `v<helm_chart.VALIDATED>`. The facts:

- chart: name, version and appVersion of its Chart.yaml, the repository, tag and commit.
- values: each key path `inv helm.values` writes in the test cases (test_helm.EVERYTHING
  and tests/golden/helm/*/jitsi-stack.yml) and each parent of one, with its type in the
  chart's values.yaml: mapping, open mapping (an empty `{}`, which takes any key, so
  nothing below it is listed), list, bool, int, string or null.
- commented: the key paths values.yaml has only as a commented default (`#tag:`), which
  the chart's templates read all the same, with their line in values.yaml.
- sets: per component, the variable names its templates/<component>/configmap.yaml sets;
  for jvb also the env names of templates/jvb/deployment.yaml outside Octo. A name one of
  them sets must not be written again under extraEnvs (helm_chart.CHART_SETS).

A key path the chart has neither as a key nor as a comment stops the tool: the project
writes something the chart does not read.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from jitsi_stack import helm  # noqa: E402
from jitsi_stack.deployment import build  # noqa: E402
from jitsi_stack.settings import project  # noqa: E402
from jitsi_stack.settings.rules import helm as helm_chart  # noqa: E402

SET_BY_TEMPLATE = re.compile(r"^\s+([A-Z][A-Z0-9_]+):", re.M)
ENV_BY_DEPLOYMENT = re.compile(r"^\s+- name: ([A-Z][A-Z0-9_]+)$", re.M)


def target(version: str = helm_chart.VALIDATED) -> Path:
    return ROOT / "tests" / "data" / f"jitsi-helm-{version}-facts.json"


def git_show(git_dir: str, rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{rev}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def written_paths() -> set[tuple[str, ...]]:
    """Every key path (and parent) of the values written for the test cases."""
    from tests.support.project import seed_secrets, write_settings
    from tests.unit.helm.test_helm import EVERYTHING

    golden = ROOT / "tests" / "golden"
    cases = [EVERYTHING] + [
        p.read_text(encoding="utf-8") for p in sorted(golden.glob("helm/*/jitsi-stack.yml"))
    ]
    paths: set[tuple[str, ...]] = set()
    for text in cases:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "certs").mkdir()
            for f in (golden / "certs").iterdir():
                (root / "certs" / f.name).write_bytes(f.read_bytes())
            write_settings(root, text)
            seed_secrets(root)
            s = project.load(root, environ={})
            walk(helm.build(build(s), s).values, (), paths)
    return paths


def walk(values: dict, path: tuple[str, ...], out: set[tuple[str, ...]]) -> None:
    for key, value in values.items():
        here = (*path, str(key))
        out.add(here)
        if isinstance(value, dict):
            walk(value, here, out)


def kind(value) -> str:
    if isinstance(value, dict):
        return "mapping" if value else "open mapping"
    for python, name in ((bool, "bool"), (int, "int"), (list, "list"), (str, "string")):
        if isinstance(value, python):
            return name
    return "null"


def commented_line(text: str, path: tuple[str, ...]) -> int:
    """The line of `#<key>:` at the path's depth inside its top-level section, or 0."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line == f"{path[0]}:"), None)
    if start is None:
        return 0
    wanted = "  " * (len(path) - 1) + f"#{path[-1]}:"
    for i in range(start + 1, len(lines)):
        if re.match(r"[A-Za-z]", lines[i]):  # the next top-level key
            return 0
        if lines[i].startswith(wanted):
            return i + 1
    return 0


def facts(git_dir: str, version: str) -> dict:
    tag = f"v{version}"
    commit = subprocess.run(
        ["git", "--git-dir", git_dir, "rev-parse", f"{tag}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    chart = yaml.safe_load(git_show(git_dir, commit, "Chart.yaml"))
    text = git_show(git_dir, commit, "values.yaml")
    chart_values = yaml.safe_load(text)
    values, commented, missing = {}, {}, []
    for path in sorted(written_paths()):
        node, found = chart_values, True
        for key in path:
            if isinstance(node, dict) and node == {}:  # open: takes any key
                found = None
                break
            if not isinstance(node, dict) or key not in node:
                found = False
                break
            node = node[key]
        if found is None:
            continue
        if found:
            values[".".join(path)] = kind(node)
        elif line := commented_line(text, path):
            commented[".".join(path)] = line
        else:
            missing.append(".".join(path))
    if missing:
        sys.exit(f"not in the chart's values.yaml at {tag}: {', '.join(missing)}")
    sets = {}
    for component in sorted(helm_chart.CHART_SETS):
        names = set(
            SET_BY_TEMPLATE.findall(
                git_show(git_dir, commit, f"templates/{component}/configmap.yaml")
            )
        )
        if component == "jvb":
            env = git_show(git_dir, commit, "templates/jvb/deployment.yaml")
            names |= {n for n in ENV_BY_DEPLOYMENT.findall(env) if "OCTO" not in n}
        sets[component] = sorted(names)
    return {
        "about": (
            "Facts of the Helm chart jitsi-meet read from its own files (values.yaml, "
            "Chart.yaml, templates/) at the tag and commit below by tools/helm_chart_facts.py; "
            "tests/unit/helm/test_helm.py checks inv helm.values against them."
        ),
        "chart": {
            "name": chart["name"],
            "version": str(chart["version"]),
            "appVersion": str(chart["appVersion"]),
            "repository": helm_chart.CHART_SOURCE,
            "tag": tag,
            "commit": commit,
        },
        "values": values,
        "commented": commented,
        "sets": sets,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", help="a clone of jitsi-contrib/jitsi-helm (its .git)")
    parser.add_argument("--version", default=helm_chart.VALIDATED)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs")
    args = parser.parse_args(argv)
    text = json.dumps(facts(args.git_dir, args.version), indent=2) + "\n"
    path = target(args.version)
    if args.check:
        same = path.exists() and path.read_text(encoding="utf-8") == text
        print(f"{path.relative_to(ROOT)} is {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
