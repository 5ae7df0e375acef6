"""The one runner: dry, echo, failures classified from stderr, ps in both Compose formats."""
# ruff: noqa: E501 - tables of exact command lines and messages read best one per line

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jitsi_stack import docker, errors
from jitsi_stack.docker import Compose, Container, Engine, Result, Runner, parse_ps

# `docker compose ps --format json` rows, as Compose < 2.21 (one array) and >= 2.21 (lines).
ROW = {
    "ID": "ad6b8d499970",
    "Name": "cc-jicofo",
    "Service": "jitsi-jicofo",
    "State": "running",
    "Health": "healthy",
    "Image": "jitsi-stack-testbed/jicofo:good",
    "Status": "Up 5 minutes (healthy)",
    "Publishers": [
        {"URL": "127.0.0.1", "TargetPort": 8888, "PublishedPort": 18888, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 8080, "PublishedPort": 0, "Protocol": "tcp"},
    ],
}
API_ROW = {  # GET /containers/json (Engine API 1.41)
    "Id": "ad6b8d499970aaaa",
    "Names": ["/cc-jicofo"],
    "Image": "jitsi-stack-testbed/jicofo:good",
    "ImageID": "sha256:d19d",
    "State": "running",
    "Status": "Up 5 minutes (healthy)",
    "Ports": [
        {"IP": "127.0.0.1", "PrivatePort": 8888, "PublicPort": 18888, "Type": "tcp"},
        {"PrivatePort": 8080, "Type": "tcp"},
    ],
    "Labels": {"com.docker.compose.service": "jitsi-jicofo", "com.docker.compose.project": "cc"},
}


def test_ps_formats_parse_alike():
    array = parse_ps(json.dumps([ROW]))
    lines = parse_ps(json.dumps(ROW) + "\n" + json.dumps({**ROW, "Service": "x"}) + "\n")
    assert array[0] == lines[0]
    assert array[0].ready and array[0].publishers[0] == ("127.0.0.1", 8888, 18888, "tcp")
    assert [c.service for c in lines] == ["jitsi-jicofo", "x"]


def test_api_rows_read_like_compose_rows():
    api = Container.from_api(API_ROW)
    cli = parse_ps(json.dumps([ROW]))[0]
    for field in ("service", "name", "state", "health", "image", "status"):
        assert getattr(api, field) == getattr(cli, field), field
    assert api.publishers[0] == cli.publishers[0]
    assert (
        Container.from_api({**API_ROW, "Status": "Up 1 second (health: starting)"}).health
        == "starting"
    )
    assert not Container.from_api({**API_ROW, "Status": "Up 3 s (unhealthy)"}).ready


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
            errors.DaemonUnreachable,
        ),
        ("docker: 'compose' is not a docker command.", errors.ComposeMissing),
        (
            "Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:8443 failed: port is already allocated",
            errors.PortInUse,
        ),
        (
            "Error starting userland proxy: listen tcp4 0.0.0.0:18443: bind: address already in use",
            errors.PortInUse,
        ),
        (
            "Error response from daemon: pull access denied for x/web, repository does not exist",
            errors.ImageMissing,
        ),
        (
            "Error response from daemon: manifest for ghcr.io/jitsi/web:nope not found: manifest unknown",
            errors.ImageMissing,
        ),
        (
            'Error response from daemon: Conflict. The container name "/cc-web" is already in use by container "ab12"',
            errors.NameConflict,
        ),
        ("Error response from daemon: No such container: fee9", errors.NoSuchContainer),
        ("something else entirely", errors.DockerError),
    ],
)
def test_failures_are_classified(stderr, kind):
    err = docker.failure(Result(("docker", "compose", "up"), 1, "", stderr), "docker compose up")
    assert type(err) is kind
    assert err.returncode == 1 and err.argv == ["docker", "compose", "up"] and err.stderr == stderr
    assert "\n" not in str(err)


@pytest.mark.parametrize(
    ("stderr", "port"),
    [
        ("Bind for 0.0.0.0:8443 failed: port is already allocated", 8443),
        ("listen tcp4 0.0.0.0:18443: bind: address already in use", 18443),
        ("listen udp6 [::]:10000: bind: address already in use", 10000),
    ],
)
def test_the_port_in_a_port_failure_is_read(stderr, port):
    err = docker.failure(Result(("docker",), 1, "", stderr), "up")
    assert isinstance(err, errors.PortInUse) and err.port == port


def test_dry_runs_nothing_and_says_so(capsys):
    runner = Runner(dry=True)
    result = runner.run(["docker", "compose", "up", "-d"])
    assert result.ok and result.stdout == ""
    assert runner.log == [("docker", "compose", "up", "-d")]
    assert "dry run: docker compose up -d" in capsys.readouterr().err


def test_echo_prints_then_runs(capsys):
    result = Runner(echo=True).run([sys.executable, "-c", "print('hi')"])
    assert result.stdout == "hi\n"
    assert "$ " in capsys.readouterr().err


def test_missing_binary_and_timeout():
    with pytest.raises(errors.DockerNotInstalled):
        Runner().run(["/nonexistent/docker", "info"])
    with pytest.raises(errors.DockerTimeout, match="did not answer within"):
        Runner().run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)


def test_check_false_returns_the_failure():
    result = Runner().run([sys.executable, "-c", "import sys; sys.exit(3)"], check=False)
    assert result.returncode == 3


def test_ps_asks_again_when_a_container_is_replaced_mid_listing(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")  # not local: the CLI path
    answers = [
        Result((), 1, "", "Error response from daemon: No such container: fee9"),
        Result((), 0, json.dumps(ROW) + "\n", ""),
    ]
    runner = Runner()
    monkeypatch.setattr(runner, "execute", lambda argv, **kw: answers.pop(0))
    compose = Compose(runner, tmp_path, "cc", (tmp_path / "docker-compose.yml",), tmp_path / ".env")
    assert [c.service for c in compose.ps()] == ["jitsi-jicofo"]
    assert answers == []


def test_engine_is_used_only_for_a_plain_local_daemon(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert Engine.local(Runner()).socket_path == "/run/user/1000/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.9:2376")
    assert Engine.local(Runner()).socket_path is None
    monkeypatch.delenv("DOCKER_HOST")
    (Path(tmp_path) / "config.json").write_text('{"currentContext": "remote"}')
    assert Engine.local(Runner()).socket_path is None
    (Path(tmp_path) / "config.json").write_text('{"currentContext": "default"}')
    assert Engine.local(Runner()).socket_path == docker.engine.DEFAULT_SOCKET


def test_compose_argv_always_names_its_files(tmp_path):
    compose = Compose(
        Runner(), tmp_path, "cc", (tmp_path / "a.yml", tmp_path / "b.yml"), tmp_path / "e"
    )
    argv = compose.argv("ps")
    assert argv[:2] == ["docker", "compose"] and argv[-1] == "ps"
    assert argv.count("--file") == 2 and "--env-file" in argv
