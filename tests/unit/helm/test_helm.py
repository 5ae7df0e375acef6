"""`inv helm.values`: values for the chart jitsi-contrib/jitsi-helm from the Deployment.

Every key written must exist in the pinned chart's values.yaml (the facts in tests/data,
read from the chart by tools/helm_chart_facts.py); no secret
value in the file or the output; bad input refused in one line with nothing written;
never written through a link."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from jitsi_stack import helm
from jitsi_stack.deployment import build
from jitsi_stack.settings import project
from jitsi_stack.settings.rules import helm as helm_chart
from tests.support.project import FIXED_SECRETS, run_cli, seed_secrets, write_settings

TESTS = Path(__file__).resolve().parents[2]
GOLDEN = TESTS / "golden"
# The chart's facts (key paths and types of its values.yaml, what its ConfigMaps set), read
# from jitsi-contrib/jitsi-helm at the release tag by tools/helm_chart_facts.py.
FACTS_FILE = TESTS / "data" / f"jitsi-helm-{helm_chart.VALIDATED}-facts.json"
REGENERATE = (
    "read it from the chart: python tools/helm_chart_facts.py GIT_DIR "
    "(a clone of jitsi-contrib/jitsi-helm)"
)

EVERYTHING = """
public_url: https://meet.example.com
auth: {enabled: true, type: internal, guests: true}
features: {recording: true, transcriptions: true}
services: {jibri: true, jigasi: true, transcriber: true, etherpad: true, whiteboard: true}
sip: {uri: a@sip.example.com, server: sip.example.com, password: Sip-Password-0123456789}
turn: {enabled: true, server: external, host: turn.example.com, secret: Turn-Secret-0123456789}
jvb: {count: 4, advertise_ips: [auto]}
env: {ENABLE_SUBDOMAINS: false, JICOFO_OCTO_REGION: eu}
"""


def chart_facts() -> dict:
    return json.loads(FACTS_FILE.read_text(encoding="utf-8"))


def unknown_keys(ours, facts=None, path=()) -> list[str]:
    """Every key path of `ours` that the chart's values do not have, or of another kind
    (an open mapping in the chart, such as extraEnvs: {}, takes any key; a commented
    default, such as jvb.publicIPs, is read by the chart's templates all the same)."""
    facts = facts or chart_facts()
    problems = []
    for key, value in ours.items():
        here = (*path, key)
        dotted = ".".join(here)
        theirs = facts["values"].get(dotted)
        if theirs is None:
            if dotted not in facts["commented"]:
                problems.append(dotted)
            continue
        if theirs == "mapping":
            if not isinstance(value, dict):
                problems.append(f"{dotted} (a mapping in the chart)")
            else:
                problems += unknown_keys(value, facts, here)
        elif theirs == "list" and not isinstance(value, list):
            problems.append(f"{dotted} (a list in the chart)")
        elif theirs == "bool" and not isinstance(value, bool):
            problems.append(f"{dotted} (true/false in the chart)")
    return problems


def values_for(root: Path, text: str) -> helm.HelmValues:
    write_settings(root, text)
    seed_secrets(root)
    s = project.load(root, environ={})
    return helm.build(build(s), s)


# -- the chart's own structure --------------------------------------------------------------


def test_the_facts_are_the_pinned_chart_release():
    chart = chart_facts()["chart"]
    assert chart["name"] == helm_chart.CHART and chart["repository"] == helm_chart.CHART_SOURCE
    assert (chart["version"], chart["tag"]) == (helm_chart.VALIDATED, f"v{helm_chart.VALIDATED}")
    assert chart["appVersion"] == "stable-11146-2"  # the images' tag the project pins
    assert chart["commit"] == "b849a05a0afb9929d49d117b2d49f23c4e129d80"
    assert helm_chart.version_problem(helm_chart.VALIDATED) is None
    assert not list(FACTS_FILE.parent.glob("jitsi-helm-*-templates"))  # no copy of the chart


def test_the_key_check_catches_a_wrong_key():
    assert unknown_keys({"jvb": {"publicIP": ["x"]}}) == ["jvb.publicIP"]
    assert unknown_keys({"jvb": {"service": True}}) == ["jvb.service (a mapping in the chart)"]
    assert unknown_keys({"jvb": {"useHostPort": "yes"}}) == [
        "jvb.useHostPort (true/false in the chart)"
    ]
    assert unknown_keys({"web": {"extraEnvs": {"ANY_NAME": "1"}}}) == []
    assert unknown_keys({"jvb": {"publicIPs": ["192.0.2.1"]}}) == []  # a commented default


@pytest.mark.parametrize("case", ["defaults", "production", "everything"])
def test_every_key_written_exists_in_the_pinned_chart(root, case):
    if case == "everything":
        text = EVERYTHING
    else:
        text = (GOLDEN / "helm" / case / "jitsi-stack.yml").read_text()
        (root / "certs").mkdir()
        for f in (GOLDEN / "certs").iterdir():
            (root / "certs" / f.name).write_bytes(f.read_bytes())
    hv = values_for(root, text)
    assert yaml.safe_load(hv.text) == hv.values
    unknown = unknown_keys(hv.values)
    assert unknown == [], f"{unknown} not in {FACTS_FILE.name}: {REGENERATE}"


def test_extra_variables_never_repeat_what_the_chart_sets(root):
    """A name the component's ConfigMap sets would be a duplicate key there."""
    hv = values_for(root, EVERYTHING)
    for comp, block in hv.values.items():
        if isinstance(block, dict) and "extraEnvs" in block:
            names = set(block["extraEnvs"])
            assert not names & helm.CHART_SETS.get(comp, set()), comp
            assert not names & (helm.KEYED | helm.COMPOSE_ONLY | helm.CLUSTER_NAMES), comp
    assert "XMPP_SERVER" not in str(hv.values)  # the chart names prosody's Service


# -- the same facts as the Compose stack ----------------------------------------------------


def test_values_come_from_the_deployment(root):
    hv = values_for(root, EVERYTHING)
    s = project.load(root, environ={})
    d = build(s)
    v = hv.values
    assert v["publicURL"] == d.urls.public
    assert v["xmpp"]["mucDomain"] == d.domains.muc
    assert v["jvb"]["portRangeSize"] == len(d.bridges) == 4
    assert v["jvb"]["UDPPort"] == d.port("ports.jvb_media").host
    assert v["jvb"]["useNodeIP"] is True and "publicIPs" not in v["jvb"]  # auto: this host
    for svc in d.services:
        block = v[helm.COMPONENT[svc.kind]]["image"]
        assert f"{block['repository']}:{block['tag']}" == svc.image
    assert v["prosody"]["persistence"]["enabled"] is True  # internal accounts survive
    assert v["enableAuth"] is True and v["enableGuests"] is True
    for comp in ("jibri", "jigasi", "transcriber", "etherpad", "excalidraw"):
        assert v[comp]["enabled"] is True
    assert "coturn" not in v  # external TURN: prosody gets its details
    assert v["prosody"]["extraEnvs"]["TURN_HOST"] == "turn.example.com"
    assert v["web"]["extraEnvs"]["ENABLE_SUBDOMAINS"] == "0"
    assert v["jicofo"]["extraEnvs"]["JICOFO_OCTO_REGION"] == "eu"


@pytest.mark.parametrize("count", [1, 3, 8, 16])
def test_bridges_are_one_pod_per_port(root, count):
    hv = values_for(root, f"jvb: {{count: {count}, advertise_ips: [203.0.113.10]}}\n")
    jvb = hv.values["jvb"]
    assert (jvb["replicaCount"], jvb["portRangeSize"], jvb["UDPPort"]) == (1, count, 10000)
    assert jvb["useHostPort"] is True and jvb["service"] == {"enabled": False}
    assert jvb["publicIPs"] == ["203.0.113.10"]


def test_secrets_are_references_with_the_chart_keys(root):
    hv = values_for(root, EVERYTHING)
    refs = {r.name: r for r in hv.secrets}
    assert refs["jitsi-jvb-auth"].literals == (("JVB_AUTH_USER", "jvb"),)
    assert refs["jitsi-jibri-recorder-auth"].keys == ("JIBRI_RECORDER_PASSWORD",)
    assert refs["jitsi-prosody-env"].keys == ("TURN_CREDENTIALS",)  # external TURN
    assert refs["jitsi-jigasi-env"].keys == ("JIGASI_SIP_PASSWORD",)
    v = hv.values
    assert v["transcriber"]["xmpp"]["existingSecretName"] == "jitsi-transcriber-auth"
    assert v["jigasi"]["xmpp"]["existingSecretName"] == "jitsi-jigasi-auth"
    assert v["prosody"]["extraEnvFrom"] == [{"secretRef": {"name": "jitsi-prosody-env"}}]
    commands = "\n".join(helm.kubectl_commands(hv, "jitsi", "********"))
    for value in (*FIXED_SECRETS.values(), "Sip-Password-0123456789", "Turn-Secret-0123456789"):
        assert value not in hv.text and value not in commands
    assert "--from-literal=TURN_CREDENTIALS='********'" in commands


# -- the task: writes, refusals ------------------------------------------------------------


def test_writes_atomically_and_says_when_up_to_date(root):
    write_settings(root, "jvb: {count: 2}\n")
    first = run_cli(root, "helm.values")
    assert first.returncode == 0, first.stderr
    out = root / "helm" / "values.yaml"
    assert out.stat().st_mode & 0o777 == 0o644
    assert os.listdir(root / "helm") == ["values.yaml"]  # no temporary file left
    assert yaml.safe_load(out.read_text())["jvb"]["portRangeSize"] == 2
    again = run_cli(root, "helm.values")
    assert again.returncode == 0 and "up to date" in again.stderr
    assert "helm upgrade --install jitsi jitsi-meet" in again.stdout
    assert "--version 3.4.0" in again.stdout


@pytest.mark.parametrize("version", ["3.5.0", "2.9.3", "4.0.0", "latest", "3.4"])
def test_chart_version_outside_the_range_is_refused(root, version):
    write_settings(root, f"helm: {{chart_version: '{version}'}}\n")
    proc = run_cli(root, "helm.values")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: helm.chart_version:")
    assert "set helm.chart_version: 3.4.0" in lines[0]
    assert not (root / "helm").exists()


def test_a_patch_release_of_the_validated_minor_is_accepted(root):
    write_settings(root, "helm: {chart_version: 3.4.7}\n")
    proc = run_cli(root, "helm.values")
    assert proc.returncode == 0, proc.stderr
    assert "jitsi-meet 3.4.7" in (root / "helm" / "values.yaml").read_text()


@pytest.mark.parametrize(
    "text, key",
    [
        ("helm: {release: My_Release}\n", "helm.release"),
        ("helm: {namespace: '-meet'}\n", "helm.namespace"),
        ("auth: {enabled: true, type: ldap, ldap: {url: 'ldap://x', base: dc=x}}\n", "auth.type"),
        ("env: {JICOFO_OCTO_REGION: '{{ .Release.Name }}'}\n", "env.JICOFO_OCTO_REGION"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(root, text, key):
    write_settings(root, text)
    proc = run_cli(root, "helm.values")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}:"), lines
    assert not (root / "helm").exists()


@pytest.mark.parametrize(
    "to", ["../outside.yaml", "/tmp/elsewhere.yaml", "jitsi-stack.yml", "docker-compose.yml"]
)
def test_a_target_outside_the_project_or_managed_is_refused(root, to):
    write_settings(root, "{}\n")
    before = sorted(p.name for p in root.iterdir())
    proc = run_cli(root, "helm.values", "--to", str(root / to) if to[0] != "/" else to)
    assert proc.returncode == 2 and proc.stderr.startswith("error: --to:")
    assert sorted(p.name for p in root.iterdir()) == before
    assert (root / "jitsi-stack.yml").read_text() == "{}\n"


def test_never_writes_through_a_link(root, tmp_path):
    write_settings(root, "{}\n")
    victim = tmp_path / "victim.yaml"
    victim.write_text("keep me\n")
    (root / "helm").mkdir()
    (root / "helm" / "values.yaml").symlink_to(victim)
    proc = run_cli(root, "helm.values")
    assert proc.returncode == 1 and "symbolic link" in proc.stderr
    assert victim.read_text() == "keep me\n"
    assert (root / "helm" / "values.yaml").is_symlink()


def test_never_writes_through_a_linked_directory(root, tmp_path):
    write_settings(root, "{}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "k8s").symlink_to(elsewhere)
    proc = run_cli(root, "helm.values", "--to", str(root / "k8s" / "values.yaml"))
    assert proc.returncode == 1 and "symbolic link" in proc.stderr
    assert list(elsewhere.iterdir()) == []


def test_an_ungenerated_secret_is_named_not_invented(root):
    write_settings(root, "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: cc}}\n")
    proc = run_cli(root, "helm.values")
    assert proc.returncode == 0, proc.stderr
    assert "not generated yet: JICOFO_AUTH_PASSWORD, JVB_AUTH_PASSWORD, JWT_APP_SECRET" in (
        proc.stderr
    )
    assert not (root / ".jitsi-stack" / "secrets.env").exists()  # helm.values makes none


@pytest.mark.parametrize("component", sorted(helm_chart.CHART_SETS))
def test_what_each_chart_configmap_sets_is_read_from_the_chart(component):
    """helm_chart.CHART_SETS (kept out of extraEnvs) is what chart 3.4.0's own ConfigMaps
    set, and for the bridge what its Deployment's env sets outside Octo."""
    assert set(chart_facts()["sets"][component]) == set(helm_chart.CHART_SETS[component])


def test_json_lists_the_secrets_and_commands_without_a_value(root):
    import json

    write_settings(root, "auth: {enabled: true, type: internal}\n")
    seed_secrets(root)
    first = run_cli(root, "helm.values", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["values_file"] == "helm/values.yaml" and data["written"] is True
    assert data["chart"] == "jitsi-meet 3.4.0"
    names = {ref["name"]: ref for ref in data["secrets"]}
    assert "jitsi-jvb-auth" in names, names
    keys = {k["key"]: k for k in names["jitsi-jvb-auth"]["keys"]}
    assert keys["JVB_AUTH_PASSWORD"]["generated"] is True
    assert keys["JVB_AUTH_USER"] == {"key": "JVB_AUTH_USER", "value": "jvb"}
    assert all("'********'" in line for line in data["kubectl"] if "--from-literal" in line)
    assert data["helm"].startswith("helm upgrade --install")
    for value in FIXED_SECRETS.values():
        assert value not in first.stdout
    again = json.loads(run_cli(root, "helm.values", "--json").stdout)
    assert again["written"] is False
