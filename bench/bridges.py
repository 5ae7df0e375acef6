"""Benchmark: render time against the number of bridges (jvb.count 1, 2, 4, ..., 64).

Usage: python bench/bridges.py [--runs N] [--max 64]
Prints a table: the median of a full render in process (settings read, Deployment built,
every file written), the cost per bridge, the Helm values for the same settings, and a
linearity check (a least-squares line through the medians, and the cost of one more
bridge at the top against the bottom). jvb.count above 16 is refused for one host
(rules.MAX_BRIDGES); it is raised in this process only, to see the curve.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jitsi_stack import helm, ui  # noqa: E402
from jitsi_stack.deployment import build  # noqa: E402
from jitsi_stack.render import apply  # noqa: E402
from jitsi_stack.settings import project, rules  # noqa: E402
from jitsi_stack.store import paths  # noqa: E402

SETTINGS = """public_url: https://meet.example.com
ports: {{http: 80, https: 443}}
https: {{enabled: true}}
jvb: {{count: {count}, advertise_ips: [203.0.113.10]}}
"""


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(base: Path, count: int, runs: int) -> tuple[float, float, int]:
    (base / "jitsi-stack.yml").write_text(SETTINGS.format(count=count), encoding="utf-8")
    apply.apply(build(project.load(base, environ={})))  # warm: secrets made, templates compiled

    def full_render() -> None:
        for rel in (paths.COMPOSE_FILE, paths.ENV_FILE, paths.CUSTOM_CONFIG):
            (base / rel).unlink(missing_ok=True)
        apply.apply(build(project.load(base, environ={})))

    def helm_values() -> None:
        s = project.load(base, environ={})
        helm.build(build(s), s)

    render = median_ms(full_render, runs)
    values = median_ms(helm_values, runs)
    lines = len((base / paths.COMPOSE_FILE).read_text(encoding="utf-8").splitlines())
    return render, values, lines


def fit(xs: list[int], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b*x: (a, b, R²)."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    total = sum((y - my) ** 2 for y in ys)
    residual = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, 1 - residual / total if total else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--max", type=int, default=64)
    args = parser.parse_args()
    counts = []
    n = 1
    while n <= args.max:
        counts.append(n)
        n *= 2
    limit = rules.MAX_BRIDGES
    rules.MAX_BRIDGES = max(limit, args.max)  # this process only: see the curve past 16
    results = {}
    with tempfile.TemporaryDirectory(prefix="jitsi-stack-bench-bridges-") as scratch:
        base = Path(scratch)
        for count in counts:
            results[count] = measure(base, count, args.runs)
        shutil.rmtree(base / paths.CONFIG_DIR, ignore_errors=True)
    first = results[counts[0]][0]
    rows = []
    for count in counts:
        render, values, lines = results[count]
        extra = f"{(render - first) / (count - 1):.3f}" if count > 1 else "-"
        over = "" if count <= limit else f" (> {limit})"
        rows.append(
            [
                f"{count}{over}",
                f"{render:.2f}",
                extra,
                f"{render / count:.2f}",
                f"{values:.2f}",
                str(lines),
            ]
        )
    columns = [
        "bridges",
        "render ms",
        "ms per added bridge",
        "ms / bridges",
        "helm.values ms",
        "compose lines",
    ]
    print(f"median of {args.runs} runs; full render in process (read, build, write every file)")
    ui.show(ui.table(None, columns, rows))
    a, b, r2 = fit(counts, [results[c][0] for c in counts])
    low = (results[counts[2]][0] - results[counts[1]][0]) / (counts[2] - counts[1])
    high = (results[counts[-1]][0] - results[counts[-2]][0]) / (counts[-1] - counts[-2])
    verdict = "linear" if r2 >= 0.98 and high <= 2 * max(low, 0.01) else "NOT linear"
    print(
        f"fit: {a:.2f} ms + {b:.3f} ms per bridge, R^2 = {r2:.4f}; one more bridge costs "
        f"{low:.3f} ms at {counts[1]}-{counts[2]}, {high:.3f} ms at {counts[-2]}-{counts[-1]}: "
        f"{verdict}"
    )


if __name__ == "__main__":
    main()
