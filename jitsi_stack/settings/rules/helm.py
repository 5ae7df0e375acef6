"""The community Helm chart (jitsi-contrib/jitsi-helm, chart jitsi-meet) as `inv helm.values`
knows it: the release whose values.yaml and templates it follows, the variables each
component's ConfigMap sets itself, the chart's secret references, and the helm.* rules.
Checked against the chart's values.yaml (its facts: tests/data/jitsi-helm-<version>-facts.json)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..layers import Settings


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


CHART = "jitsi-meet"
CHART_REPO = "https://jitsi-contrib.github.io/jitsi-helm/"
CHART_SOURCE = "jitsi-contrib/jitsi-helm"
VALIDATED = "3.4.0"  # the release whose values.yaml and templates this module follows
SUPPORTED = (3, 4)  # major.minor: the chart keeps its values' keys within a minor release
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
K8S_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$")  # DNS-1123, Helm's 53

# The chart's component of each of our services.
COMPONENT = {
    "web": "web",
    "prosody": "prosody",
    "jicofo": "jicofo",
    "jvb": "jvb",
    "jibri": "jibri",
    "jigasi": "jigasi",
    "transcriber": "transcriber",
    "etherpad": "etherpad",
    "whiteboard": "excalidraw",
    "coturn": "coturn",
}

# Variables written to dedicated chart keys (or implied by them) by `build`.
KEYED = _names(
    """PUBLIC_URL TZ ENABLE_AUTH ENABLE_GUESTS XMPP_DOMAIN XMPP_AUTH_DOMAIN XMPP_MUC_DOMAIN
    XMPP_INTERNAL_MUC_DOMAIN XMPP_GUEST_DOMAIN XMPP_HIDDEN_DOMAIN ENABLE_XMPP_WEBSOCKET
    ENABLE_HTTP_REDIRECT JVB_PORT JVB_ADVERTISE_IPS JVB_STUN_SERVERS ENABLE_RECORDING
    ENABLE_TRANSCRIPTIONS JITSI_IMAGE_REPO JITSI_IMAGE_VERSION"""
)
# With the chart's coturn, prosody gets these from the chart (prosody/configmap-coturn.yaml).
COTURN_KEYED = _names(
    "TURN_HOST TURN_PORT TURN_TRANSPORT TURNS_HOST TURNS_PORT STUN_HOST STUN_PORT"
)
# Only meaningful to Compose on one host: host ports of loopback APIs, the config folder,
# the restart policy, jigasi's published media range (its pod's own ports in a cluster).
COMPOSE_ONLY = _names(
    """CONFIG HTTP_PORT HTTPS_PORT JVB_COLIBRI_PORT JICOFO_REST_PORT RESTART_POLICY
    JIGASI_PORT_MIN JIGASI_PORT_MAX"""
)
# Addresses inside the Compose network; in the cluster the chart names its Services itself.
CLUSTER_NAMES = _names(
    """XMPP_SERVER XMPP_BOSH_URL_BASE ETHERPAD_URL_BASE JICOFO_ENABLE_REST
    WHITEBOARD_COLLAB_SERVER_URL_BASE"""
)
# TLS ends at the cluster's Ingress: the web pod always serves plain HTTP (DISABLE_HTTPS=1).
INGRESS_TLS = _names(
    """DISABLE_HTTPS ENABLE_LETSENCRYPT LETSENCRYPT_DOMAIN LETSENCRYPT_EMAIL
    LETSENCRYPT_USE_STAGING"""
)
# What each component's own ConfigMap sets (chart 3.4.0, templates/<component>/configmap.yaml
# and the env of jvb/deployment.yaml): written again under extraEnvs it would be a
# duplicate key of that ConfigMap, so the chart's value stands. tests/unit/helm/test_helm.py
# compares them with the names tools/helm_chart_facts.py read from those templates
# (jitsi-contrib/jitsi-helm v3.4.0, commit b849a05a; tests/data/jitsi-helm-3.4.0-facts.json).
CHART_SETS = {
    comp: _names(names)
    for comp, names in {
        "web": """DISABLE_HTTPS ENABLE_HTTP_REDIRECT ENABLE_TRANSCRIPTIONS ETHERPAD_URL_BASE
            NGINX_RESOLVER WHITEBOARD_COLLAB_SERVER_URL_BASE XMPP_BOSH_URL_BASE""",
        "prosody": "ENABLE_TRANSCRIPTIONS",
        "jicofo": """ENABLE_OCTO ENABLE_TRANSCRIPTIONS JIBRI_BREWERY_MUC JIBRI_PENDING_TIMEOUT
            JICOFO_ENABLE_REST JIGASI_BREWERY_MUC JIGASI_SIP_URI JVB_BREWERY_MUC
            OCTO_BRIDGE_SELECTION_STRATEGY XMPP_SERVER""",
        "jvb": """COLIBRI_REST_ENABLED ENABLE_OCTO JVB_BREWERY_MUC JVB_DISABLE_STUN
            JVB_OCTO_REGION JVB_STUN_SERVERS XMPP_SERVER JVB_PORT JVB_ADVERTISE_IPS""",
        "jigasi": "JIGASI_BREWERY_MUC JIGASI_ENABLE_REST XMPP_SERVER",
        "jibri": """DISPLAY JIBRI_BREWERY_MUC JIBRI_FINALIZE_RECORDING_SCRIPT_PATH
            JIBRI_RECORDING_DIR JIBRI_SINGLE_USE_MODE JIBRI_STRIP_DOMAIN_JID XMPP_SERVER""",
        "transcriber": """ENABLE_TRANSCRIPTIONS JIGASI_ENABLE_REST JIGASI_MODE
            JIGASI_TRANSCRIBER_CUSTOM_SERVICE JIGASI_TRANSCRIBER_WHISPER_URL XMPP_SERVER""",
    }.items()
}
# The chart's own secret references: (variable, values path of existingSecretName, the
# Secret's suffix, the user variable the chart also reads from it, services needing it).
NATIVE_SECRETS = (
    ("JICOFO_AUTH_PASSWORD", "jicofo.xmpp", "jicofo-auth", "", ("jicofo",)),
    ("JVB_AUTH_PASSWORD", "jvb.xmpp", "jvb-auth", "JVB_AUTH_USER", ("jvb",)),
    ("JIGASI_XMPP_PASSWORD", "jigasi.xmpp", "jigasi-auth", "JIGASI_XMPP_USER", ("jigasi",)),
    (
        "JIGASI_TRANSCRIBER_PASSWORD",
        "transcriber.xmpp",
        "transcriber-auth",
        "JIGASI_TRANSCRIBER_USER",
        ("transcriber",),
    ),
    ("JIBRI_XMPP_PASSWORD", "jibri.xmpp", "jibri-auth", "JIBRI_XMPP_USER", ("jibri",)),
    (
        "JIBRI_RECORDER_PASSWORD",
        "jibri.recorder",
        "jibri-recorder-auth",
        "JIBRI_RECORDER_USER",
        ("jibri",),
    ),
    ("JWT_APP_SECRET", "prosody.jwt", "jwt", "", ("prosody",)),
    ("TURN_CREDENTIALS", "coturn.staticAuth", "turn", "", ("coturn",)),
)


def version_problem(version: str) -> str | None:
    """None when the chart version is one this module writes values for."""
    match = VERSION_RE.match(str(version))
    if not match or (int(match.group(1)), int(match.group(2))) != SUPPORTED:
        supported = ".".join(map(str, SUPPORTED))
        return (
            f"helm.chart_version: {version} is outside the supported range {supported}.x "
            f"(the values are checked against chart {VALIDATED}): set helm.chart_version: "
            f"{VALIDATED}"
        )
    return None


def settings_problems(s: Settings) -> list[str]:
    """The helm.* settings' rules (rules.check runs them with every load)."""
    problems = []
    problem = version_problem(s["helm.chart_version"])
    if problem:
        problems.append(problem)
    for key in ("helm.release", "helm.namespace"):
        if not K8S_NAME_RE.match(s[key]):
            problems.append(
                f"{key}: {s[key]!r} is not a Kubernetes name: use up to 53 lowercase "
                "letters, digits and '-', starting and ending with a letter or digit"
            )
    return problems
