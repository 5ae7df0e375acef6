"""Regenerate jitsi_stack/data/upstream_vars.json from tools/upstream-vars.md.

Usage: python tools/gen_upstream.py [--check]

tools/upstream-vars.md is Appendix A of our notes on docker-jitsi-meet stable-11146-2:
every variable the upstream compose files pass, the services that read it and the
image default. --check exits 1 when the JSON file is not what the table gives.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "upstream-vars.md"
TARGET = HERE.parent / "jitsi_stack" / "data" / "upstream_vars.json"
ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| ([^|]*) \| (.*) \| ?(yes)? ?\|$")


def table() -> dict[str, dict]:
    group = ""
    rows: dict[str, dict] = {}
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            group = re.sub(r"\s*\(\d+\)$", "", line[4:].strip())
            continue
        m = ROW.match(line.strip())
        if not m:
            continue
        name, services, default, _ = m.groups()
        services = services.strip()
        svc = [] if services.startswith("(") else [s.strip() for s in services.split(",")]
        rows[name] = {
            "group": group,
            "services": svc,
            "default": default.strip().replace("\\|", "|"),
        }
    return dict(sorted(rows.items()))


def main(argv: list[str]) -> int:
    text = json.dumps(table(), indent=1, ensure_ascii=False) + "\n"
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python tools/gen_upstream.py")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"{len(json.loads(text))} variables -> {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
