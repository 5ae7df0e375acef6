"""The built wheel holds every file of the package: each template (dot files too) and each
data file, so `pip install` of it renders what a checkout renders (metrics, TURN, Swarm)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.support.wheel import build_wheel, tracked, wheel_files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_every_tracked_file_of_the_package(wheel):
    package = tracked("jitsi_stack")
    shipped = [n for n in wheel_files(wheel) if n.startswith("jitsi_stack/")]
    assert [rel for rel in package if rel not in shipped] == []  # nothing left out
    assert [rel for rel in shipped if rel not in package] == []  # nothing from elsewhere
    # the files a glob is most likely to miss: dot files, deep folders, non-Python data
    for rel in (
        "jitsi_stack/templates/jitsi-meet/.env.j2",
        "jitsi_stack/templates/jitsi-meet/prometheus/prometheus.yml.j2",
        "jitsi_stack/templates/jitsi-meet/grafana/provisioning/datasources/jitsi-stack.yml.j2",
        "jitsi_stack/templates/swarm/with-secrets.sh.j2",
        "jitsi_stack/data/upstream_vars.json",
        "jitsi_stack/py.typed",
    ):
        assert rel in shipped, rel


def test_the_wheel_installs_the_command(wheel):
    dist_info = [n for n in wheel_files(wheel) if ".dist-info/" in n]
    entry_points = next(n for n in dist_info if n.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(entry_points).decode()
    assert "jitsi-stack = jitsi_stack.cli:main" in text


def test_a_template_missing_from_the_installation_says_reinstall(monkeypatch, tmp_path):
    """An installation without a template (as the wheel once shipped 5 of 10) is named as
    such: jinja2's TemplateNotFound is an OSError, and read as one it told the operator to
    fix a file of theirs."""
    import shutil

    import jinja2

    import jitsi_stack
    from jitsi_stack import render, swarm
    from jitsi_stack.errors import StackError

    shutil.copytree(Path(jitsi_stack.__file__).parent / "templates", tmp_path / "templates")
    (tmp_path / "templates" / "jitsi-meet" / "prometheus" / "prometheus.yml.j2").unlink()
    (tmp_path / "templates" / "swarm" / "with-secrets.sh.j2").unlink()
    broken = render.environment().overlay(loader=jinja2.FileSystemLoader(tmp_path / "templates"))
    monkeypatch.setattr(render, "environment", lambda: broken)
    with pytest.raises(StackError) as err:
        render._render("jitsi-meet/prometheus/prometheus.yml.j2", {})
    assert str(err.value) == (
        "the installed jitsi-stack is missing its template "
        "templates/jitsi-meet/prometheus/prometheus.yml.j2: reinstall jitsi-stack "
        "(a broken installation, not your settings)"
    )
    with pytest.raises(StackError, match="missing its template templates/swarm/with-secrets"):
        swarm.wrapper_text()
