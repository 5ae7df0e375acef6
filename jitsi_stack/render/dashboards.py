"""The Grafana dashboard `metrics.enabled` provisions: what a call center watches.

Built here rather than templated: a dashboard is a JSON document Grafana reads, and every
query names a metric that Prometheus really collects from the endpoints upstream exposes
(jicofo's ConferenceMetrics.kt and BridgeSelector.kt, jvb's VideobridgeMetrics.kt and
VideobridgePeriodicMetrics.kt, prosody's mod_c2s and mod_bosh). tests/docker/test_metrics.py
checks each name against a real Prometheus scraping the test-bed stack.
"""

from __future__ import annotations

import json
import re

UID = "jitsi-stack-call-center"

# (title, kind, unit, [(PromQL, legend)]) in reading order; kind: stat or timeseries
PANELS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("Conferences", "stat", "none", (("jitsi_jicofo_conferences", "conferences"),)),
    ("Participants", "stat", "none", (("jitsi_jicofo_participants_current", "participants"),)),
    (
        "Largest conference",
        "stat",
        "none",
        (("jitsi_jicofo_largest_conference", "participants"),),
    ),
    (
        "Bridges operational",
        "stat",
        "none",
        (
            ("jitsi_jicofo_bridge_selector_bridge_count_operational", "operational"),
            ("jitsi_jicofo_bridge_selector_bridge_count", "known"),
        ),
    ),
    ("Bridge stress", "timeseries", "percentunit", (("jitsi_jvb_stress", "{{bridge}}"),)),
    (
        "Conferences and endpoints per bridge",
        "timeseries",
        "none",
        (
            ("jitsi_jvb_conferences", "{{bridge}} conferences"),
            ("jitsi_jvb_local_endpoints", "{{bridge}} endpoints"),
        ),
    ),
    (
        "Packet loss",
        "timeseries",
        "percentunit",
        (
            ("jitsi_jvb_incoming_loss_fraction", "{{bridge}} in"),
            ("jitsi_jvb_outgoing_loss_fraction", "{{bridge}} out"),
        ),
    ),
    (
        "Bitrate",
        "timeseries",
        "bps",
        (
            ("jitsi_jvb_incoming_bitrate", "{{bridge}} in"),
            ("jitsi_jvb_outgoing_bitrate", "{{bridge}} out"),
        ),
    ),
    (
        "Prosody sessions and rooms",
        "timeseries",
        "none",
        (
            ("sum by (type) (prosody_mod_c2s__connections)", "c2s {{type}}"),
            ("sum(prosody_mod_bosh__active_sessions)", "BOSH active"),
            ("sum(prosody_mod_muc__live_room)", "MUC rooms"),
        ),
    ),
    ("Targets up", "timeseries", "none", (("up", "{{job}} {{instance}}"),)),
)

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a query reads: label matchers, ranges, by/without clauses and
    functions (a name followed by a parenthesis) left out."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    bare = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", bare)
    return {
        m.group(0)
        for m in NAME.finditer(bare)
        if not re.match(r"\s*\(", bare[m.end() :]) and not m.group(0)[0].isdigit()
    }


def queried() -> set[str]:
    """Every metric name the dashboard reads."""
    return {n for *_, targets in PANELS for expr, _ in targets for n in metric_names(expr)}


def build(datasource_uid: str) -> dict:
    """The dashboard, its panels reading the provisioned data source `datasource_uid`."""
    datasource = {"type": "prometheus", "uid": datasource_uid}
    panels = []
    for number, (title, kind, unit, targets) in enumerate(PANELS):
        small = kind == "stat"
        width = 6 if small else 12
        before = sum(1 for t in PANELS[:number] if t[1] == "stat")
        if small:
            pos = {"x": (number % 4) * 6, "y": 0}
        else:
            index = number - before
            pos = {"x": (index % 2) * 12, "y": 4 + (index // 2) * 8}
        panels.append(
            {
                "id": number + 1,
                "title": title,
                "type": kind,
                "datasource": datasource,
                "gridPos": {"h": 4 if small else 8, "w": width, **pos},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {},
                "targets": [
                    {
                        "datasource": datasource,
                        "expr": expr,
                        "legendFormat": legend,
                        "refId": chr(ord("A") + i),
                    }
                    for i, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "uid": UID,
        "title": "Jitsi call center",
        "tags": ["jitsi", "jitsi-stack"],
        "timezone": "browser",
        "refresh": "30s",
        "schemaVersion": 38,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
        "templating": {"list": []},
        "annotations": {"list": []},
    }


def text(datasource_uid: str) -> str:
    return json.dumps(build(datasource_uid), indent=2) + "\n"
