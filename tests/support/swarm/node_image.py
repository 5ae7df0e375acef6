"""The Swarm node image: Debian bookworm with Debian's docker.io, started by a small
entrypoint that makes the nested dockerd work, then `exec dockerd`.

    python -m tests.support.swarm.node_image      # build once; cached by a content tag

The tag is a hash of the recipe (packages, entrypoint): a re-run with the image present
costs one `docker image inspect`. The root filesystem is debootstrapped from the
machine's Debian mirror, as the test bed's (tests/testbed/build.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = "jssw-node"
PACKAGES = ("docker.io", "iptables", "ca-certificates", "procps", "iproute2")
RECIPE = 1  # bump when the steps below change in a way PACKAGES and ENTRYPOINT do not show

# Step 2 of the recipe: /sys and the cgroup hierarchies writable, shared mount
# propagation, the registry on the node network trusted over plain HTTP, and the API
# on TCP 2375 of the node network (a private bridge network of this machine: what
# `swarm.docker_host` points the CLI at).
ENTRYPOINT = """#!/bin/sh
set -e
mount -o remount,rw /sys
for d in /sys/fs/cgroup/*; do
  [ -d "$d" ] && mount -o remount,bind,rw "$d" "$d" 2>/dev/null || true
done
mount --make-rshared /
mkdir -p /etc/docker
printf '{"storage-driver": "overlay2", "insecure-registries": ["%s"]}\\n' \\
  "${JSSW_REGISTRY:?}" > /etc/docker/daemon.json
exec dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2375 --tls=false
"""


def tag() -> str:
    spec = f"bookworm {' '.join(PACKAGES)} {RECIPE}\n{ENTRYPOINT}"
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def ref() -> str:
    return f"{REPO}:{tag()}"


def _run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result


def _log(message: str) -> None:
    print(f"[swarm-node] {message}", flush=True)


def present() -> bool:
    return (
        subprocess.run(["docker", "image", "inspect", ref()], capture_output=True).returncode == 0
    )


def ensure() -> str:
    """The node image reference; built when absent (about a minute)."""
    if present():
        return ref()
    from tests.testbed import build as testbed

    with testbed._lock():  # the test bed's build lock: one debootstrap at a time
        if present():
            return ref()
        _build(testbed)
    return ref()


def _build(testbed) -> None:
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise RuntimeError("building the Swarm node image needs root and debootstrap")
    mirrors = testbed.debian_mirrors()
    work = Path(tempfile.mkdtemp(prefix="jssw-node-", dir=testbed.cache_dir()))
    root = work / "root"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"}
    started = time.monotonic()
    try:
        _log("debootstrap --variant=minbase bookworm ...")
        _run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root), mirrors["bookworm"]],
            "debootstrap",
        )
        testbed._configure_chroot(root, mirrors)
        _run(["mount", "-t", "proc", "proc", str(root / "proc")], "mount proc")
        try:
            _log(f"apt-get install {' '.join(PACKAGES)} (chroot) ...")
            _run(["chroot", str(root), "apt-get", "update"], "apt-get update", env=env)
            _run(
                [
                    "chroot",
                    str(root),
                    "apt-get",
                    "install",
                    "-y",
                    "--no-install-recommends",
                    *PACKAGES,
                ],
                "apt-get install",
                env=env,
            )
        finally:
            subprocess.run(["umount", "-l", str(root / "proc")], capture_output=True)
        testbed._strip_rootfs(root)
        (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)
        entry = root / "entrypoint"
        entry.write_text(ENTRYPOINT)
        entry.chmod(0o755)
        _log(f"docker import {ref()} ...")
        tar = subprocess.Popen(
            [
                "tar",
                "--numeric-owner",
                "--exclude=./dev/*",
                "--exclude=./proc/*",
                "-C",
                str(root),
                "-c",
                ".",
            ],
            stdout=subprocess.PIPE,
        )
        _run(
            ["docker", "import", "-c", 'CMD ["/entrypoint"]', "-", ref()],
            "docker import",
            stdin=tar.stdout,
        )
        tar.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _log(f"built {ref()} in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    print(ensure())
    sys.exit(0)
