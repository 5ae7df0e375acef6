"""A real local image registry (Debian's docker-registry) for update/rollback tests.

    from tests.testbed.registry import start_registry, push_testbed

    reg = start_registry(tmp_path)          # serves 127.0.0.1:5000, storage in tmp_path
    try:
        refs = push_testbed(reg.url)        # 127.0.0.1:5000/jitsi/<svc>:good and :broken
        ...                                 # compose with image: 127.0.0.1:5000/jitsi/web:good
    finally:
        reg.stop()

Docker allows plain-HTTP registries on 127.0.0.0/8 without configuration.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY_BIN = "/usr/bin/docker-registry"
NAMESPACE = "jitsi"


class RegistryError(RuntimeError):
    """The registry could not be started or the images could not be pushed."""


class Registry:
    """A running docker-registry; `url` is host:port as used in image references."""

    def __init__(self, process: subprocess.Popen, url: str, workdir: Path, log_path: Path):
        self.process = process
        self.url = url
        self.workdir = workdir
        self.log_path = log_path

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Registry(url={self.url!r}, pid={self.process.pid})"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{url}/v2/", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_registry(workdir, port: int = 5000, timeout: float = 20) -> Registry:
    """Start `docker-registry serve` on 127.0.0.1:<port>, storage under `workdir`.

    Waits until GET /v2/ answers 200. Raises RegistryError (port taken, binary
    missing, registry exited).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if not Path(REGISTRY_BIN).exists():
        raise RegistryError(f"{REGISTRY_BIN} is missing (apt-get install docker-registry)")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RegistryError(f"127.0.0.1:{port} is already in use")
    config = workdir / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log_path = workdir / "registry.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
    process = subprocess.Popen(
        [REGISTRY_BIN, "serve", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    registry = Registry(process, f"127.0.0.1:{port}", workdir, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RegistryError(f"docker-registry exited with {process.returncode}:\n{tail}")
        if _answers(registry.url):
            return registry
        time.sleep(0.2)
    registry.stop()
    raise RegistryError(f"docker-registry did not answer on {registry.url}/v2/ in {timeout}s")


def push_testbed(registry_url: str, tags=("good", "broken")) -> dict[str, str]:
    """Build the test-bed images if needed and push them as
    <registry_url>/jitsi/<svc>:<tag>. Returns {reference: digest}.
    """
    from tests.testbed import build

    build.ensure_images()
    pushed: dict[str, str] = {}
    for svc in build.SERVICES:
        for tag in tags:
            ref = f"{registry_url}/{NAMESPACE}/{svc}:{tag}"
            for cmd in (["docker", "tag", build.image_ref(svc, tag), ref], ["docker", "push", ref]):
                result = subprocess.run(cmd, capture_output=True, text=True)
                if result.returncode != 0:
                    raise RegistryError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
            found = re.search(r"digest: (sha256:[0-9a-f]{64})", result.stdout)
            pushed[ref] = found.group(1) if found else ""
    return pushed


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="start a registry, push the test bed, wait")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    with start_registry(tempfile.mkdtemp(prefix="testbed-registry-"), args.port) as reg:
        for ref, digest in push_testbed(reg.url).items():
            print(ref, digest)
        print(f"registry on {reg.url}; Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            reg.process.wait()
