"""Golden renders: the exact bytes of every generated file for a set of settings files.

UPDATE_GOLDEN=1 pytest tests/golden rewrites them; review the diff like code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from jitsi_stack.deployment import build
from jitsi_stack.render import apply
from jitsi_stack.settings import project
from jitsi_stack.store import devca, paths
from tests.support.project import seed_secrets

GOLDEN = Path(__file__).parent
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "jitsi-stack.yml").is_file())
OUTPUTS = {
    "docker-compose.yml": paths.COMPOSE_FILE,
    "env": paths.ENV_FILE,
    "custom-config.js": paths.CUSTOM_CONFIG,
    "turnserver.conf": "jitsi-meet/coturn/turnserver.conf",  # only with the bundled TURN server
    "prometheus.yml": "jitsi-meet/prometheus/prometheus.yml",  # only with metrics.enabled
    "frame-ancestors.conf": "jitsi-meet/web/nginx-custom/frame-ancestors.conf",
}


def seed_dev_ca(root: Path) -> None:
    """A fixed development CA (tests/golden/dev-ca, valid until 2126): web's config label
    hashes the certificate it serves (frontend.dev_https)."""
    folder = root / devca.DIR
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    for rel in devca.FILES:
        target = root / rel
        target.write_bytes((GOLDEN / "dev-ca" / Path(rel).name).read_bytes())
        target.chmod(0o600 if rel.endswith(".key") else 0o644)


def render_case(root: Path, case: str):
    shutil.copy(GOLDEN / case / "jitsi-stack.yml", root / "jitsi-stack.yml")
    shutil.copytree(GOLDEN / "certs", root / "certs", dirs_exist_ok=True)
    seed_secrets(root)
    seed_dev_ca(root)
    d = build(project.load(root, environ={}))
    apply.apply(d)
    return d


@pytest.mark.parametrize("case", CASES)
def test_golden(root, case):
    render_case(root, case)
    for golden_name, rel in OUTPUTS.items():
        if not (root / rel).exists():
            assert not (GOLDEN / case / golden_name).exists(), f"{case}: {rel} not rendered"
            continue
        produced = (root / rel).read_text(encoding="utf-8")
        expected_file = GOLDEN / case / golden_name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            expected_file.write_text(produced, encoding="utf-8")
        assert produced == expected_file.read_text(encoding="utf-8"), f"{case}/{golden_name}"
        assert produced.endswith("\n") and not produced.endswith("\n\n")


def test_golden_cases_present():
    assert {"defaults", "production", "all-services", "hostile"} <= set(CASES)


def test_defaults_reproduce_the_platforms_stack_sh_setup(root):
    render_case(root, "defaults")
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    services = compose["services"]
    assert list(services) == ["jitsi-web", "jitsi-prosody", "jitsi-jicofo", "jitsi-jvb"]
    assert {svc["container_name"] for svc in services.values()} == {
        "callcenter-jitsi-web",
        "callcenter-jitsi-prosody",
        "callcenter-jitsi-jicofo",
        "callcenter-jitsi-jvb",
    }
    assert compose["networks"]["callcenter-network"]["name"] == "callcenter-network"
    assert compose["networks"]["jitsi-internal"]["name"] == "callcenter-jitsi-internal"
    networks = {name: list(svc["networks"]) for name, svc in services.items()}
    assert networks == {
        "jitsi-web": ["callcenter-network"],
        "jitsi-prosody": ["callcenter-network", "jitsi-internal"],
        "jitsi-jicofo": ["jitsi-internal"],  # its REST API is not open to the platform
        "jitsi-jvb": ["jitsi-internal"],
    }
    for svc in services.values():
        assert svc["image"].startswith("ghcr.io/jitsi/")
        assert svc["image"].endswith(":stable-11146-2")
        assert svc["restart"] == "unless-stopped"
        assert svc["read_only"] is True
        assert svc["healthcheck"]["test"][0] == "CMD"
    # the seed's plain http on 8443, and https with the development CA on 8444 (issue 22)
    assert services["jitsi-web"]["ports"] == ["8443:8000", "8444:8443"]
    assert services["jitsi-jvb"]["ports"] == ["10000:10000/udp", "127.0.0.1:8080:8080"]
    assert services["jitsi-jicofo"]["ports"] == ["127.0.0.1:8888:8888"]
    for name in ("jitsi-web", "jitsi-jicofo", "jitsi-jvb"):
        assert services[name]["depends_on"]["jitsi-prosody"]["condition"] == "service_healthy"
    for network in ("callcenter-network", "jitsi-internal"):
        assert services["jitsi-prosody"]["networks"][network]["aliases"] == ["xmpp.meet.jitsi"]
    env = dict(
        line.split("=", 1)
        for line in (root / paths.ENV_FILE).read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["PUBLIC_URL"] == "http://localhost:8443"
    assert env["XMPP_DOMAIN"] == "meet.jitsi"
    assert env["JVB_PORT"] == "10000"
    for name, value in {
        "ENABLE_AUTH": "0",
        "ENABLE_GUESTS": "1",
        "ENABLE_RECORDING": "0",
        "ENABLE_TRANSCRIPTIONS": "0",
        "ENABLE_WELCOME_PAGE": "1",
        "DISABLE_HTTPS": "0",  # https on ports.https with the development CA (issue 22)
        "JICOFO_ENABLE_HEALTH_CHECKS": "1",
    }.items():
        assert env[name] == value, name


def test_each_container_gets_only_its_variables(root):
    render_case(root, "all-services")
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    env_of = {
        name: {e.split("=")[0] for e in svc.get("environment", [])}
        for name, svc in compose["services"].items()
    }
    assert not {n for n in env_of["jitsi-web"] if "PASSWORD" in n}
    assert "JICOFO_AUTH_PASSWORD" in env_of["jitsi-jicofo"]
    assert "JVB_AUTH_PASSWORD" not in env_of["jitsi-jicofo"]
    assert "JVB_AUTH_PASSWORD" in env_of["jitsi-jvb"]
    assert "JICOFO_AUTH_PASSWORD" not in env_of["jitsi-jvb"]
    assert "JIGASI_SIP_PASSWORD" in env_of["jitsi-jigasi"]
    assert "JIGASI_SIP_PASSWORD" not in env_of["jitsi-prosody"]
    assert "JIBRI_RECORDER_PASSWORD" in env_of["jitsi-jibri"]
    assert "JIBRI_RECORDING_RESOLUTION" in env_of["jitsi-jibri"]
    assert "ENABLE_LIVESTREAMING" in env_of["jitsi-web"]
    assert compose["services"]["jitsi-jibri"]["shm_size"] == "2gb"
    assert compose["services"]["jitsi-jigasi"]["ports"] == ["20000-20050:20000-20050/udp"]


@pytest.mark.parametrize("case", CASES)
def test_the_template_agrees_with_the_deployment(root, case):
    """Names, images, ports, variables and aliases in the file are the Deployment's."""
    d = render_case(root, case)
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    assert list(compose["services"]) == d.names
    for svc in d.services:
        block = compose["services"][svc.name]
        assert block["image"] == svc.image
        assert block["container_name"] == svc.container
        assert block.get("ports", []) == [p.compose() for p in svc.ports]
        names = [e for e in block.get("environment", []) if "=" not in e]
        assert names == list(svc.env_names)
        literals = [e for e in block.get("environment", []) if "=" in e]
        assert literals[: len(svc.env_literals)] == list(svc.env_literals)
        assert block["labels"]["io.jitsi-stack.upstream"] == svc.kind
        assert tuple(block["networks"]) == svc.networks
        for network in svc.networks:
            aliases = (block["networks"][network] or {}).get("aliases", ())
            assert tuple(aliases) == svc.aliases_on(network)


HELM_CASES = sorted(p.name for p in (GOLDEN / "helm").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", HELM_CASES)
def test_helm_values_golden(root, case):
    """`inv helm.values`: the values file and what it prints (Secrets masked) for the chart
    jitsi-contrib/jitsi-helm, byte for byte."""
    from tests.support.project import run_cli

    shutil.copy(GOLDEN / "helm" / case / "jitsi-stack.yml", root / "jitsi-stack.yml")
    shutil.copytree(GOLDEN / "certs", root / "certs", dirs_exist_ok=True)
    seed_secrets(root)
    proc = run_cli(root, "helm.values")
    assert proc.returncode == 0, proc.stderr
    produced = {
        "values.yaml": (root / "helm" / "values.yaml").read_text(encoding="utf-8"),
        "output.txt": proc.stdout,
    }
    for name, text in produced.items():
        expected_file = GOLDEN / "helm" / case / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            expected_file.write_text(text, encoding="utf-8")
        assert text == expected_file.read_text(encoding="utf-8"), f"helm/{case}/{name}"


def test_helm_golden_cases_present():
    assert {"defaults", "production"} <= set(HELM_CASES)


SWARM_CASES = ("swarm-stack", "swarm-global")


@pytest.mark.parametrize("case", SWARM_CASES)
def test_golden_swarm_stack(root, case):
    """swarm/stack.yml (`inv swarm.render`) from settings.yml of the case."""
    from jitsi_stack import swarm

    shutil.copy(GOLDEN / case / "settings.yml", root / "jitsi-stack.yml")
    seed_secrets(root)
    _s, _d, _values, view = swarm.load(root, environ={})
    produced = swarm.render(view)[swarm.STACK_FILE]
    expected_file = GOLDEN / case / "stack.yml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(produced, encoding="utf-8")
    assert produced == expected_file.read_text(encoding="utf-8"), f"{case}/stack.yml"
    assert produced.endswith("\n") and not produced.endswith("\n\n")
    yaml.safe_load(produced)
