# ruff: noqa: E501 - the table rows read best one per line
"""Benchmark `inv backup` and `inv restore` against a plain `tar` of the same tree.

Usage: python bench/backup.py [--agents N] [--recordings-mb M] [--runs R] [--json]
Builds a rendered project whose prosody storage holds N agent accounts (prosody's own
layout: data/<host>/accounts/<name>.dat) and M MiB of recordings, then, in one run:
  `jitsi-stack backup --include-recordings`  vs  `tar -czf` of the members its manifest lists
  `jitsi-stack restore` into an empty folder vs  `tar -xzf` into an empty folder
  `jitsi-stack restore --yes` over that restored folder (safety archive of what it
  replaces, then the swap) vs `tar -xzf` over the untarred folder
Prints medians (seconds) and the ratio (tool / tar). The stack is not running (no prosody
to pause): what is measured is the archive work, checksums and verification included.
Needs a Docker engine only for the preflight `docker` check the tasks make.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SETTINGS = (
    "project_name: jsbenchbk\ncontainer_prefix: jsbenchbk\nauth: {enabled: true, type: internal}\n"
)


def populate(root: Path, agents: int, recordings_mb: int) -> None:
    accounts = root / "jitsi-meet/storage/prosody/data/meet%2ejitsi/accounts"
    accounts.mkdir(parents=True)
    for number in range(agents):
        (accounts / f"agent{number:05}.dat").write_text(
            "return {\n"
            f'\t["iteration_count"] = 10000;\n\t["salt"] = "{os.urandom(16).hex()}";\n'
            f'\t["stored_key"] = "{os.urandom(20).hex()}";\n'
            f'\t["server_key"] = "{os.urandom(20).hex()}";\n}};\n'
        )
    recordings = root / "jitsi-meet/storage/jibri"
    recordings.mkdir(parents=True)
    for number in range(recordings_mb):
        (recordings / f"call-{number:04}.mp4").write_bytes(os.urandom(1 << 20))


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}: {proc.stderr.strip()[-300:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--recordings-mb", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from jitsi_stack import ui

    cli = [sys.executable, "-m", "jitsi_stack"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_STACK_")}
    work = Path(tempfile.mkdtemp(prefix="jsbench-backup-"))
    try:
        root = work / "project"
        root.mkdir()
        (root / "jitsi-stack.yml").write_text(SETTINGS)
        timed([*cli, "render"], root, env)
        populate(root, args.agents, args.recordings_mb)
        samples: dict[str, list[float]] = {
            k: [] for k in ("backup", "tar_c", "restore", "tar_x", "over", "tar_over")
        }
        for run in range(args.runs):
            archive, plain = work / f"b{run}.tar.gz", work / f"t{run}.tar.gz"
            samples["backup"].append(
                timed([*cli, "backup", "--include-recordings", "--to", str(archive)], root, env)
            )
            with tarfile.open(archive) as tar:
                manifest = json.load(tar.extractfile("jitsi-stack-backup.json"))
            names = [m["name"] for m in manifest["members"]]
            listing = work / "members.txt"
            listing.write_text("\n".join(names) + "\n")
            tar_c = [
                "tar",
                "-czf",
                str(plain),
                "-C",
                str(root),
                "--no-recursion",
                "-T",
                str(listing),
            ]
            samples["tar_c"].append(timed(tar_c, root, env))
            target, bare = work / f"restored{run}", work / f"untarred{run}"
            target.mkdir()
            bare.mkdir()
            samples["restore"].append(
                timed([*cli, "--root", str(target), "restore", str(archive)], work, env)
            )
            samples["tar_x"].append(timed(["tar", "-xzf", str(plain), "-C", str(bare)], work, env))
            samples["over"].append(
                timed([*cli, "--root", str(target), "restore", "--yes", str(archive)], work, env)
            )
            samples["tar_over"].append(
                timed(["tar", "-xzf", str(plain), "-C", str(bare)], work, env)
            )
            members, size = len(names), archive.stat().st_size
        med = {k: statistics.median(v) for k, v in samples.items()}
        result = {
            "agents": args.agents,
            "recordings_mib": args.recordings_mb,
            "members": members,
            "archive_bytes": size,
            "runs": args.runs,
            "median_seconds": med,
            "ratio_backup_vs_tar": med["backup"] / med["tar_c"],
            "ratio_restore_vs_tar": med["restore"] / med["tar_x"],
            "ratio_restore_over_vs_tar": med["over"] / med["tar_over"],
        }
        if args.json:
            print(json.dumps(result, indent=2))
            return
        rows = [
            ["inv backup --include-recordings", f"{med['backup']:.3f}", "tar -czf (same members)", f"{med['tar_c']:.3f}", f"{result['ratio_backup_vs_tar']:.2f}x"],
            ["inv restore (empty folder)", f"{med['restore']:.3f}", "tar -xzf", f"{med['tar_x']:.3f}", f"{result['ratio_restore_vs_tar']:.2f}x"],
            ["inv restore --yes (over it)", f"{med['over']:.3f}", "tar -xzf (over)", f"{med['tar_over']:.3f}", f"{result['ratio_restore_over_vs_tar']:.2f}x"],
        ]  # fmt: skip
        title = (
            f"{args.agents} agents, {args.recordings_mb} MiB recordings: {members} members, "
            f"{size / 1048576:.1f} MiB archive, median of {args.runs}"
        )
        ui.show(ui.table(title, ["task", "s", "raw command", "s", "ratio"], rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
