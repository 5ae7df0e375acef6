"""Stand-in for grafana/grafana: what jitsi-stack's provisioning and healthcheck touch.

Semantics copied from Grafana 10.2 (pkg/services/provisioning):
- at start it reads every *.yaml / *.yml under $GF_PATHS_PROVISIONING/datasources; a file
  that does not parse, or a data source without name or type, stops the server ("Failed
  to provision data sources", exit 1), as Grafana does;
- dashboard providers under .../dashboards name a folder (options.path); each *.json in it
  is a dashboard; one that does not parse or has no title is logged and skipped;
- GET /api/health answers without credentials; /api/datasources and /api/search need the
  admin's basic auth (GF_SECURITY_ADMIN_USER / GF_SECURITY_ADMIN_PASSWORD, default
  admin/admin) and answer 401 otherwise;
- the admin's password is set once, when the database ($GF_PATHS_DATA/grafana.db) is
  created (Grafana's [security] admin_password: "only used on first run"); a later start
  with another GF_SECURITY_ADMIN_PASSWORD keeps the stored one.
"""

import base64
import glob
import json
import os
import sys
import threading

import yaml
from xmpp_standin import env, serve_http, setup_logging

VERSION = "10.2.0-testbed"


def _yaml_files(folder):
    return sorted(
        glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "*.yml"))
    )


def datasources(root, log):
    found = []
    for path in _yaml_files(os.path.join(root, "datasources")):
        try:
            with open(path, encoding="utf-8") as handle:
                doc = yaml.safe_load(handle) or {}
            for item in doc.get("datasources") or []:
                if not item.get("name") or not item.get("type"):
                    raise ValueError("data source without name or type")
                found.append(item)
        except (OSError, ValueError, yaml.YAMLError, AttributeError) as exc:
            log.error("Failed to provision data sources: %s: %s", path, exc)
            sys.exit(1)
    return found


def dashboards(root, log):
    found = []
    for path in _yaml_files(os.path.join(root, "dashboards")):
        with open(path, encoding="utf-8") as handle:
            doc = yaml.safe_load(handle) or {}
        for provider in doc.get("providers") or []:
            folder = (provider.get("options") or {}).get("path", "")
            for file in sorted(glob.glob(os.path.join(folder, "*.json"))):
                try:
                    with open(file, encoding="utf-8") as handle:
                        board = json.load(handle)
                    if not board.get("title"):
                        raise ValueError("dashboard has no title")
                except (OSError, ValueError) as exc:
                    log.error("failed to load dashboard from %s: %s", file, exc)
                    continue
                found.append(
                    {"uid": board.get("uid", ""), "title": board["title"], "type": "dash-db"}
                )
    return found


def first_run_password(data, log):
    """The admin password: the environment's when the database is created, else the stored."""
    db = os.path.join(data, "grafana.db")
    if os.path.exists(db):
        with open(db, encoding="utf-8") as handle:
            return json.load(handle)["admin_password"]
    password = env("GF_SECURITY_ADMIN_PASSWORD", "admin")
    with open(db, "w", encoding="utf-8") as handle:
        json.dump({"admin_password": password}, handle)
    log.info("created the database %s and the admin user", db)
    return password


def main():
    log = setup_logging("grafana")
    root = env("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning")
    user = env("GF_SECURITY_ADMIN_USER", "admin")
    password = first_run_password(env("GF_PATHS_DATA", "/var/lib/grafana"), log)
    sources = datasources(root, log)
    boards = dashboards(root, log)
    log.info("provisioned %d data source(s), %d dashboard(s)", len(sources), len(boards))
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def private(answer):
        def handler(http):
            if http.headers.get("Authorization") != expected:
                return 401, "application/json", {"message": "invalid username or password"}
            return 200, "application/json", answer

        return handler

    def health(_http):
        return 200, "application/json", {"commit": "testbed", "database": "ok", "version": VERSION}

    serve_http(
        log,
        "0.0.0.0",  # noqa: S104 - Grafana listens on every address of its container
        int(env("GF_SERVER_HTTP_PORT", "3000")),
        {
            ("GET", "/api/health"): health,
            ("GET", "/api/datasources"): private(sources),
            ("GET", "/api/search"): private(boards),
        },
    )
    threading.Event().wait()


if __name__ == "__main__":
    main()
