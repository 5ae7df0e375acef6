"""The settings of the operations and scale-out sections (metrics, Kubernetes), kept
apart from schema.py only for length; schema.SCHEMA includes them in place."""

from __future__ import annotations

from typing import Any

from .schema_field import Field

SECTIONS: dict[str, Any] = {
    "metrics": {
        "enabled": Field(
            "bool",
            False,
            "Prometheus scraping jicofo, every bridge and prosody, and Grafana with the "
            "call-center dashboards (docs/operations.md#metrics).",
            upstream="PROSODY_ENABLE_METRICS",
        ),
        "retention": Field(
            "str",
            "15d",
            "How long Prometheus keeps samples (its --storage.tsdb.retention.time: a number "
            "and one of h, d, w, y).",
        ),
        "grafana_port": Field("port", 3000, "Host port of Grafana."),
        "grafana_bind": Field(
            "str",
            "127.0.0.1",
            "Host address Grafana's port is published on: 127.0.0.1 (this machine, behind "
            "your proxy) or 0.0.0.0 (every interface).",
        ),
        "prometheus_port": Field(
            "optional_port",
            0,
            "Host port of Prometheus's API and UI on 127.0.0.1; 0: not published (Grafana "
            "reaches it inside).",
        ),
        "subnet": Field(
            "str",
            "10.213.213.0/28",
            "Subnet of the metrics network (Prometheus, Grafana, prosody): prosody answers "
            "/metrics only to addresses in it (PROSODY_METRICS_ALLOWED_CIDR). Change it when "
            "it overlaps a network of this machine.",
            upstream="PROSODY_METRICS_ALLOWED_CIDR",
        ),
    },
    "helm": {
        "chart_version": Field(
            "str",
            "3.4.0",
            "Version of the community Helm chart (jitsi-contrib/jitsi-helm, chart jitsi-meet) "
            "`inv helm.values` writes values for: 3.4.x, the release its keys were checked "
            "against.",
        ),
        "release": Field(
            "name",
            "jitsi",
            "Helm release name `inv helm.values` prints the install command for; it also "
            "prefixes the Kubernetes Secrets the values refer to (jitsi-jvb-auth, ...).",
        ),
        "namespace": Field(
            "name", "jitsi", "Kubernetes namespace of the release and of its Secrets."
        ),
    },
}
