"""Values for the community Helm chart (jitsi-contrib/jitsi-helm, chart jitsi-meet), from the
Deployment that also renders the Compose stack.

`build(d, s)` returns the values as a mapping, the YAML text, the Kubernetes Secrets the
values refer to, and what the chart cannot express. No secret value is ever part of it:
each password the chart reads is named by an `existingSecretName` (the chart's own
secret reference), and every other secret variable comes from a Secret the component
reads through `extraEnvFrom`. The operator creates those Secrets; `inv helm.values`
prints the kubectl commands with the values masked.

The keys written are checked against the chart's values.yaml of VALIDATED (its key paths
and types, read from the chart by tools/helm_chart_facts.py into the test data
tests/data/jitsi-helm-<version>-facts.json). The variable names the chart sets itself
come from its templates of that release (templates/*/configmap.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from ..settings.rules.helm import (
    CHART,
    CHART_REPO,
    CHART_SETS,
    CHART_SOURCE,
    CLUSTER_NAMES,
    COMPONENT,
    COMPOSE_ONLY,
    COTURN_KEYED,
    INGRESS_TLS,
    KEYED,
    NATIVE_SECRETS,
)

if TYPE_CHECKING:
    from ..deployment import Deployment
    from ..settings.layers import Settings


@dataclass(frozen=True)
class SecretRef:
    """A Kubernetes Secret the operator creates; the values name it, never its content."""

    name: str
    keys: tuple[str, ...]  # secret variables it holds
    literals: tuple[tuple[str, str], ...]  # non-secret entries the chart reads from it
    referenced_by: str  # the values key naming it
    sources: tuple[str, ...]  # where each key's value is kept (same order as keys)


@dataclass(frozen=True)
class HelmValues:
    values: dict[str, Any]
    secrets: tuple[SecretRef, ...]
    notes: tuple[tuple[str, str], ...]  # (setting, why it is not carried over)
    tls_secret: tuple[str, str, str] | None  # (Secret, cert file, key file) for TURN over TLS
    text: str


def image(ref: str) -> dict[str, str]:
    """A chart image block from an image reference (repository and tag, digest kept)."""
    name, at, digest = ref.partition("@")
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = name, "latest"
    return {"repository": repository, "tag": f"{tag}{at}{digest}"}


def _put(tree: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def _source(name: str, d: Deployment, passthrough: set[str]) -> str:
    from ..settings.schema import FIELDS
    from ..store import paths

    if name in passthrough:
        return f"setting env.{name}"
    if d.env.get(name) is not None:
        return "setting " + next(k for k, f in FIELDS.items() if f.upstream == name)
    return paths.SECRETS


def _is_secret(name: str, d: Deployment) -> bool:
    from ..settings.schema import FIELDS
    from ..store.secrets import SECRET_NAMES, is_secret_name

    given = any(f.secret and f.upstream == name for f in FIELDS.values())
    return name in SECRET_NAMES or d.env.get(name, "") is None or given or is_secret_name(name)


def build(d: Deployment, s: Settings) -> HelmValues:
    """The chart's values for this Deployment (no secret value in them)."""
    from ..deployment import ACCOUNT_OF

    release = s["helm.release"]
    passthrough = set(s["env"])
    values: dict[str, Any] = {}
    notes: list[tuple[str, str]] = []
    # the chart's components only: the metrics services (Prometheus, Grafana) are not
    # carried over (_dropped says so)
    services = [svc for svc in d.services if svc.kind in COMPONENT]
    present = {COMPONENT[svc.kind] for svc in services}

    # -- the site: URL, time zone, XMPP domains, who may log in --------------------------
    values["publicURL"] = d.urls.public
    values["tz"] = d.env["TZ"]
    values["enableAuth"] = bool(d.auth.type)
    values["enableGuests"] = d.env["ENABLE_GUESTS"] == "1"
    _put(values, "websockets.xmpp.enabled", bool(d.urls.websocket))
    dom = d.domains
    values["xmpp"] = {
        "domain": dom.xmpp,
        "authDomain": dom.auth,
        "mucDomain": dom.muc,
        "internalMucDomain": dom.internal_muc,
        "guestDomain": dom.guest,
        "hiddenDomain": dom.hidden,
    }
    if d.turn.enabled:
        values["turnHost"] = d.turn.host
    if d.auth.type in ("ldap", "matrix"):
        raise StackError(
            f"auth.type: {d.auth.type}: inv helm.values supports internal and jwt "
            "authentication: use one of them, or configure the chart by hand"
        )
    if d.auth.internal:  # prosody keeps the agents' accounts: they must survive a restart
        _put(values, "prosody.persistence.enabled", True)

    # -- images: the Deployment's, one per component present ------------------------------
    for svc in services:
        comp = COMPONENT[svc.kind]
        if svc.kind == "jvb" and svc.key != "jvb":
            continue
        if comp in ("jibri", "jigasi", "transcriber", "etherpad", "excalidraw", "coturn"):
            _put(values, f"{comp}.enabled", True)
        _put(values, f"{comp}.image", image(svc.image))
    if d.env.get("ENABLE_HTTP_REDIRECT") == "1":
        _put(values, "web.httpRedirect", True)
    from ..render import _render
    from ..store import paths

    _put(
        values,
        "web.custom.configs._custom_config_js",
        _render(f"{paths.CUSTOM_CONFIG}.j2", {"d": d}),
    )
    if d.has("jibri"):
        _put(values, "jibri.recording", d.env.get("ENABLE_RECORDING") == "1")

    _bridges(d, s, values, notes)
    _turn(d, s, values, notes)

    # -- every other variable of jitsi-meet/.env, to the components that read it ----------
    from ..settings.upstream import services_reading

    extra: dict[str, dict[str, str]] = {}
    extra_secrets: dict[str, list[str]] = {}
    native = {n for n, *_ in NATIVE_SECRETS if n != "TURN_CREDENTIALS" or d.turn.bundled}
    dropped = COMPOSE_ONLY | INGRESS_TLS | CLUSTER_NAMES
    dropped |= COTURN_KEYED if d.turn.bundled else frozenset()
    for name, value in d.env.items():
        if name in KEYED or name in native:
            continue
        if name in dropped:
            if name in passthrough:
                notes.append((f"env.{name}", "the chart decides it in the cluster"))
            continue
        readers = [
            COMPONENT[key]
            for key in services_reading(name)
            if key in COMPONENT and COMPONENT[key] in present
        ]
        for comp in readers:
            if name in CHART_SETS.get(comp, ()):
                if name in passthrough:
                    notes.append((f"env.{name}", f"the chart sets it for {comp}"))
                continue
            if _is_secret(name, d):
                extra_secrets.setdefault(comp, []).append(name)
                continue
            if "{{" in str(value):
                raise StackError(
                    f"env.{name}: contains '{{{{', which the chart's extraEnvs render as a "
                    "Helm template: remove it for inv helm.values"
                )
            extra.setdefault(comp, {})[name] = str(value)
    for comp in sorted(extra):
        _put(values, f"{comp}.extraEnvs", dict(sorted(extra[comp].items())))

    # -- secrets: the chart's references first, then one Secret per component ------------
    refs = []
    for name, path, suffix, user_var, needs in NATIVE_SECRETS:
        wanted = [n for n in needs if d.has(n)]
        if name == "JIGASI_XMPP_PASSWORD" and d.has("transcriber"):
            wanted.append("transcriber")  # the chart's transcriber reads jigasi's Secret too
        if name == "JWT_APP_SECRET":
            wanted = ["prosody"] if name in d.env else []
        if not wanted:
            continue
        secret = f"{release}-{suffix}"
        _put(values, f"{path}.existingSecretName", secret)
        literals = ((user_var, ACCOUNT_OF[name]),) if user_var else ()
        refs.append(
            SecretRef(
                secret,
                (name,),
                literals,
                f"{path}.existingSecretName",
                (_source(name, d, passthrough),),
            )
        )
    for comp in sorted(extra_secrets):
        secret = f"{release}-{comp}-env"
        names = tuple(extra_secrets[comp])
        _put(values, f"{comp}.extraEnvFrom", [{"secretRef": {"name": secret}}])
        refs.append(
            SecretRef(
                secret,
                names,
                (),
                f"{comp}.extraEnvFrom",
                tuple(_source(n, d, passthrough) for n in names),
            )
        )

    for key, why in _dropped(d, s):
        notes.append((key, why))
    tls = None
    if d.turn.bundled and d.turn.tls and d.certificate is not None:
        tls = (
            f"{release}-turn-tls",
            _shown(d, d.certificate.cert),
            _shown(d, d.certificate.key),
        )
        _put(values, "coturn.turns.certificate.create", False)
        _put(values, "coturn.turns.certificate.existingSecretName", tls[0])
    ordered = _ordered(values)
    return HelmValues(ordered, tuple(refs), tuple(notes), tls, _text(ordered, s))


def _bridges(d: Deployment, s: Settings, values: dict, notes: list) -> None:
    """jvb.count bridges, each its own UDP port on the node (hostPort), as on one host."""
    bridges = d.bridges
    media = [next(p for p in b.ports if p.setting == "ports.jvb_media") for b in bridges]
    base = media[0].host
    if [p.host for p in media] != list(range(base, base + len(media))) or any(
        p.host != p.container for p in media
    ):
        raise StackError(
            "ports.jvb_media: the bridges' UDP ports are not consecutive host=container "
            "ports: the chart's jvb.portRangeSize cannot express them"
        )
    jvb = values.setdefault("jvb", {})
    jvb["replicaCount"] = 1
    jvb["portRangeSize"] = len(bridges)
    jvb["UDPPort"] = base
    jvb["useHostPort"] = True
    jvb["service"] = {"enabled": False}
    if "auto" in s["jvb.advertise_ips"]:
        notes.append(
            (
                "jvb.advertise_ips",
                "auto describes this host: each bridge advertises its node's address "
                "(jvb.useNodeIP) plus what STUN finds",
            )
        )
    explicit = [ip for ip in d.advertise_ips if ip in s["jvb.advertise_ips"]]
    if explicit:
        jvb["publicIPs"] = explicit
    else:
        jvb["useNodeIP"] = True
    stun = s["env"].get("JVB_STUN_SERVERS")
    if stun is not None:
        jvb["stunServers"] = str(stun)


def _turn(d: Deployment, s: Settings, values: dict, notes: list) -> None:
    turn = d.turn
    if not turn.bundled:
        return
    coturn = values.setdefault("coturn", {})
    transport = "udp" if "udp" in turn.transports else "tcp"
    coturn["turn"] = {"transport": transport}
    coturn["service"] = {"ports": {"turn": turn.port}}
    if len(turn.transports) > 1:
        notes.append(
            (
                "turn.transports",
                f"the chart's coturn offers one transport on turn.port: {transport}",
            )
        )
    if turn.tls:
        coturn["service"]["ports"]["turns"] = turn.tls_port
        coturn["turns"] = {
            "enabled": True,
            "relayPortRange": {"min": turn.relay_min, "max": turn.relay_max},
        }
        if d.certificate is None:
            notes.append(
                (
                    "turn.tls",
                    "no https.certificate: cert-manager issues coturn's certificate "
                    "(coturn.turns.certificate.issuerRef, letsencrypt-prod)",
                )
            )
    if not turn.udp_for_bridge:
        notes.append(
            (
                "turn.udp_for_bridge",
                "the chart's coturn always adds config.useTurnUdp=true to custom-config.js",
            )
        )


def _dropped(d: Deployment, s: Settings) -> list[tuple[str, str]]:
    """Settings that describe the Compose host and have no counterpart in the chart."""
    dropped = []
    if s["https.enabled"] or s["https.letsencrypt.enabled"]:
        dropped.append(
            ("https", "TLS ends at the cluster's Ingress: add web.ingress to your overrides")
        )
    if d.has("jigasi"):
        dropped.append(
            ("ports.jigasi_min", "jigasi's media uses its pod's ports: nothing is published")
        )
    if s["metrics.enabled"]:
        dropped.append(
            (
                "metrics",
                "Prometheus and Grafana run beside the Compose stack only: the values "
                "carry no monitoring; use the cluster's own",
            )
        )
    return dropped


def _shown(d: Deployment, path) -> str:
    try:
        return str(path.relative_to(d.root))
    except ValueError:
        return str(path)


# The chart's top-level order (values.yaml), so the file reads like the chart's own.
ORDER = (
    "publicURL",
    "turnHost",
    "tz",
    "enableAuth",
    "enableGuests",
    "websockets",
    "xmpp",
    "web",
    "etherpad",
    "excalidraw",
    "coturn",
    "prosody",
    "jicofo",
    "jvb",
    "jigasi",
    "transcriber",
    "jibri",
)


def _ordered(values: dict) -> dict:
    return {k: values[k] for k in ORDER if k in values} | {
        k: v for k, v in values.items() if k not in ORDER
    }


def header(s: Settings) -> str:
    version = s["helm.chart_version"]
    return (
        f"# Values for the Helm chart {CHART} {version} ({CHART_SOURCE}), generated by\n"
        "# `inv helm.values` from jitsi-stack.yml. Do not edit: change the settings and run it\n"
        "# again. Put what belongs to the cluster (web.ingress, resources, nodeSelector) in a\n"
        "# second values file given after this one. No secret is written here: the values\n"
        "# name Kubernetes Secrets created beforehand (`inv helm.values` prints the commands).\n"
    )


def _text(values: dict, s: Settings) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text_block(dumper, value: str):  # a multi-line value reads as a literal block
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text_block)
    body = yaml.dump(
        values,
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    return header(s) + body


def install_command(s: Settings, values_file: str) -> str:
    """The helm command that installs or upgrades the release with these values."""
    return (
        f"helm upgrade --install {s['helm.release']} {CHART} --repo {CHART_REPO} "
        f"--version {s['helm.chart_version']} --namespace {s['helm.namespace']} "
        f"--create-namespace -f {values_file}"
    )


def kubectl_commands(hv: HelmValues, namespace: str, mask: str) -> list[str]:
    """One `kubectl create secret` per Secret, every secret value replaced by `mask`."""
    lines = []
    for ref in hv.secrets:
        parts = [f"kubectl create secret generic {ref.name} --namespace {namespace}"]
        parts += [f"--from-literal={k}={v}" for k, v in ref.literals]
        parts += [f"--from-literal={k}='{mask}'" for k in ref.keys]
        lines.append(" ".join(parts))
    if hv.tls_secret:
        name, cert, key = hv.tls_secret
        lines.append(
            f"kubectl create secret tls {name} --namespace {namespace} --cert={cert} --key={key}"
        )
    return lines
