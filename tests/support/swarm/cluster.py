"""A two-node Swarm of Docker-in-Docker nodes on this machine, and a registry they pull from.

    with Cluster() as cl:             # registry, network, nodes, swarm; all removed at exit
        cl.push_testbed()             # the stand-in images, as the nodes pull them
        cl.docker_host                # tcp://192.168.239.11:2375: swarm.docker_host

Names: jssw-*; node network 192.168.239.0/24 (the host is .1, node N is .1N); registry on
host port 19960. The host engine never enters swarm mode.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.support.swarm import node_image

PREFIX = "jssw"
NETWORK = f"{PREFIX}-net"
SUBNET = "192.168.239.0/24"
GATEWAY = "192.168.239.1"
REGISTRY_PORT = 19960
NODES = ("jssw-n1", "jssw-n2")
SERVICES = ("web", "prosody", "jicofo", "jvb")
TAG = "swarm"
REGISTRY_PID = Path(tempfile.gettempdir()) / "jssw-registry.pid"  # an interrupted run's


def node_ip(index: int) -> str:
    return f"192.168.239.{11 + index}"


def sh(*cmd: str, check: bool = True, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:5])} failed: {(result.stderr or result.stdout).strip()}"
        )
    return result


# The stand-ins take their service as CMD; upstream's images start it from /init with no
# CMD (base/Dockerfile: ENTRYPOINT ["/init"]). The stack starts "/init" through the
# secrets wrapper, as for upstream, so these images fold their CMD into /init.
UPSTREAM_LIKE = """FROM {base}
USER root
RUN mv /init /init.testbed \\
 && printf '#!/bin/sh\\nexec /init.testbed {cmd} "$@"\\n' > /init && chmod 0755 /init
USER 1000:1000
ENTRYPOINT ["/init"]
CMD []
"""


class Cluster:
    def __init__(self, nodes=NODES, labels: dict[str, dict[str, str]] | None = None):
        self.nodes = tuple(nodes)
        self.labels = labels or {}
        self.work = Path(tempfile.mkdtemp(prefix="jssw-"))
        self.registry: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}

    # -- life cycle ---------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    @property
    def registry_url(self) -> str:  # as the nodes pull
        return f"{GATEWAY}:{REGISTRY_PORT}"

    @property
    def docker_host(self) -> str:
        return f"tcp://{node_ip(0)}:2375"

    def ip(self, node: str) -> str:
        return node_ip(self.nodes.index(node))

    def up(self) -> None:
        started = time.monotonic()
        image = node_image.ensure()
        self.down_leftovers()
        self._start_registry()
        sh(
            "docker",
            "network",
            "create",
            "--subnet",
            SUBNET,
            "--gateway",
            GATEWAY,
            "--label",
            f"{PREFIX}=1",
            NETWORK,
        )
        for index, node in enumerate(self.nodes):
            sh(
                "docker", "run", "-d", "--name", node, "--hostname", node, "--label", f"{PREFIX}=1",
                "--network", NETWORK, "--ip", node_ip(index),
                "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
                "--tmpfs", "/run", "--tmpfs", "/tmp",
                "-e", f"JSSW_REGISTRY={self.registry_url}",
                "-v", f"{node}-data:/var/lib/docker", image,
            )  # fmt: skip
        for node in self.nodes:
            self._wait_daemon(node)
        self.timings["nodes"] = time.monotonic() - started
        manager = self.nodes[0]
        sh("docker", "exec", manager, "docker", "swarm", "init", "--advertise-addr", node_ip(0))
        token = sh("docker", "exec", manager, "docker", "swarm", "join-token", "-q", "worker")
        for index, node in enumerate(self.nodes[1:], 1):
            sh("docker", "exec", node, "docker", "swarm", "join", "--advertise-addr",
               node_ip(index), "--token", token.stdout.strip(), f"{node_ip(0)}:2377")  # fmt: skip
        for node, labels in self.labels.items():
            for key, value in labels.items():
                self.manager("node", "update", "--label-add", f"{key}={value}", node)
        self.timings["swarm"] = time.monotonic() - started

    def manager(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("docker", "exec", self.nodes[0], "docker", *args, check=check)

    def on(self, node: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("docker", "exec", node, "docker", *args, check=check)

    def _wait_daemon(self, node: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (
                sh("docker", "exec", node, "docker", "info", check=False, timeout=20).returncode
                == 0
            ):
                return
            time.sleep(0.5)
        logs = sh("docker", "logs", "--tail", "20", node, check=False)
        raise RuntimeError(f"dockerd in {node} did not start: {logs.stdout}{logs.stderr}")

    def _start_registry(self) -> None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", REGISTRY_PORT)) == 0:
                raise RuntimeError(f"port {REGISTRY_PORT} is in use: a registry of an earlier run?")
        config = self.work / "registry.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.work / 'data'}\n"
            f"http:\n  addr: 0.0.0.0:{REGISTRY_PORT}\n"
        )
        log = open(self.work / "registry.log", "ab")  # noqa: SIM115 - the child's
        self.registry = subprocess.Popen(
            ["/usr/bin/docker-registry", "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        REGISTRY_PID.write_text(str(self.registry.pid))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{REGISTRY_PORT}/v2/"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
                return
            time.sleep(0.2)
        raise RuntimeError("docker-registry did not answer")

    def push_testbed(self) -> str:
        """Push the stand-ins (started from /init, as upstream's) as
        <registry>/jitsi/<svc>:swarm; the images.repository the nodes pull from."""
        import json

        from tests.testbed.build import ensure_images

        started = time.monotonic()
        images = ensure_images()
        for svc in SERVICES:
            cmd = json.loads(sh("docker", "image", "inspect", "--format", "{{json .Config.Cmd}}",
                                images[svc]).stdout)  # fmt: skip
            context = self.work / f"build-{svc}"
            context.mkdir(exist_ok=True)
            (context / "Dockerfile").write_text(
                UPSTREAM_LIKE.format(base=images[svc], cmd=" ".join(cmd))
            )
            local = f"127.0.0.1:{REGISTRY_PORT}/jitsi/{svc}:{TAG}"
            sh("docker", "build", "--quiet", "-t", local, str(context),
               env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"})  # fmt: skip
            sh("docker", "push", local)
            sh("docker", "image", "rm", local, check=False)
        self.timings["push"] = time.monotonic() - started
        return f"{self.registry_url}/jitsi"

    # -- clean-up -------------------------------------------------------------------

    def down_leftovers(self) -> None:
        """What an interrupted earlier run left (our names, our registry process only)."""
        with contextlib.suppress(OSError, ValueError):
            pid = int(REGISTRY_PID.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"docker-registry" in cmdline and b"/jssw-" in cmdline:
                os.kill(pid, signal.SIGTERM)
                time.sleep(0.5)
        ids = sh("docker", "ps", "-aq", "--filter", f"label={PREFIX}=1", check=False).stdout.split()
        if ids:
            sh("docker", "rm", "-f", "-v", *ids, check=False)
        for node in NODES:
            sh("docker", "volume", "rm", "-f", f"{node}-data", check=False)
        sh("docker", "network", "rm", NETWORK, check=False)

    def down(self) -> None:
        ids = [n for n in self.nodes]
        sh("docker", "rm", "-f", "-v", *ids, check=False, timeout=120)
        for node in self.nodes:
            sh("docker", "volume", "rm", "-f", f"{node}-data", check=False)
        sh("docker", "network", "rm", NETWORK, check=False)
        if self.registry is not None and self.registry.poll() is None:
            self.registry.terminate()
            try:
                self.registry.wait(10)
            except subprocess.TimeoutExpired:
                self.registry.kill()
            REGISTRY_PID.unlink(missing_ok=True)
        import shutil

        shutil.rmtree(self.work, ignore_errors=True)
