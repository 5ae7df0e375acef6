"""Build the local stand-in images for the four core Jitsi services and coturn.

    python tests/testbed/build.py [--force]

or from Python::

    from tests.testbed.build import ensure_images
    images = ensure_images()          # {"web": "jitsi-stack-testbed/web:good", ...}

Images: jitsi-stack-testbed/{web,prosody,jicofo,jvb,coturn,prometheus,grafana}, tags "good" and
"broken" (the broken jvb answers /about/health with 500; the other broken
tags are the good images). web, prosody, jicofo and jvb stand in for
ghcr.io/jitsi/<svc>: same variables, ports, volumes, uid 1000, read-only root
with a tmpfs /run. coturn stands in for the official coturn/coturn image:
Debian's real coturn with that image's entrypoint, user and paths; prometheus
for prom/prometheus (Debian's real Prometheus); grafana for grafana/grafana.

How: debootstrap a Debian bookworm minbase from the machine's configured
mirror, apt-get install Debian's real prosody, nginx-light, python3-slixmpp,
coturn and curl into it, `docker import` it, then one small Dockerfile per
service (images/). The rootfs tarball is cached in $JSTEST_TESTBED_CACHE
(default /var/cache/jitsi-stack-testbed); every image carries a label with
a hash of this directory, and nothing is rebuilt while that hash matches.
Needs root (debootstrap, chroot) and a Docker engine.
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTEXT = HERE / "images"
REPO = "jitsi-stack-testbed"
SERVICES = ("web", "prosody", "jicofo", "jvb", "coturn", "prometheus", "grafana")
TAGS = ("good", "broken")
LABEL = "jitsi-stack-testbed.sources"
SUITE = "bookworm"
PACKAGES = (
    "prosody",  # pulls lua5.4, lua5.4-bitop, -expat, -filesystem, -sec, -socket
    "lua-unbound",  # prosody's recommended DNS library (upstream installs it too)
    "nginx-light",
    "python3-slixmpp",
    "curl",
    "ca-certificates",
    "openssl",  # web: self-signed keys when HTTPS is on
    "sudo",  # /init: the /run fix-up upstream's setuid s6-overlay-suexec does
    "coturn",  # the coturn image: turnserver and turnutils_* (4.6.1)
    "prometheus",  # the prometheus image: Debian's real Prometheus (2.42)
    "wget",  # healthchecks of the prometheus and grafana images (busybox wget there)
    "python3-yaml",  # the grafana stand-in reads its provisioning files
)
# bump when the rootfs recipe below changes in a way PACKAGES does not show
ROOTFS_RECIPE = 1


class BuildError(RuntimeError):
    """The test-bed images could not be built; the message says why."""


def cache_dir() -> Path:
    return Path(os.environ.get("JSTEST_TESTBED_CACHE") or "/var/cache/jitsi-stack-testbed")


def image_ref(svc: str, tag: str = "good") -> str:
    return f"{REPO}/{svc}:{tag}"


def sources_hash() -> str:
    """Hash of every file of the test bed (this script, registry.py, images/)."""
    digest = hashlib.sha256()
    for path in sorted(HERE.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(HERE)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def rootfs_key() -> str:
    spec = f"{SUITE} minbase {' '.join(sorted(PACKAGES))} recipe={ROOTFS_RECIPE}"
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def _log(message: str) -> None:
    print(f"[testbed] {message}", flush=True)


def _run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        command = " ".join(cmd[:4])
        raise BuildError(f"{what} failed (exit {result.returncode}): {command} ...\n{tail}")
    return result


@contextmanager
def _step(name: str):
    start = time.monotonic()
    _log(f"{name} ...")
    yield
    _log(f"{name}: done in {time.monotonic() - start:.1f}s")


@contextmanager
def _lock():
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- Debian mirror of this machine ------------------------------------------------


def _apt_entries() -> list[tuple[str, list[str]]]:
    """(uri, suites) of every enabled `deb` entry in the machine's apt sources."""
    entries: list[tuple[str, list[str]]] = []
    files = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]
    for name in files:
        if not os.path.isfile(name):
            continue
        for line in Path(name).read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            if words and words[0].startswith("["):
                while words and not words[0].endswith("]"):
                    words.pop(0)
                words.pop(0)
            if len(words) >= 2:
                entries.append((words[0], [words[1]]))
    for name in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(name).read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split()))
    return entries


def debian_mirrors() -> dict[str, str]:
    """{suite: uri} for bookworm, bookworm-updates and bookworm-security."""
    found: dict[str, str] = {}
    for uri, suites in _apt_entries():
        for suite in suites:
            if suite in (SUITE, f"{SUITE}-updates", f"{SUITE}-security"):
                found.setdefault(suite, uri.rstrip("/"))
    if SUITE not in found:
        # a machine on another release: reuse its Debian archive for bookworm
        for uri, _suites in _apt_entries():
            if uri.rstrip("/").endswith("/debian"):
                found[SUITE] = uri.rstrip("/")
                break
    if SUITE not in found:
        raise BuildError(
            "no Debian mirror found in /etc/apt/sources.list{,.d/*}: the test bed "
            "debootstraps bookworm from the machine's configured mirror"
        )
    return found


# --- rootfs ------------------------------------------------------------------------


def _rootfs_tarball(force: bool) -> Path:
    tarball = cache_dir() / f"rootfs-{SUITE}-{rootfs_key()}.tar"
    if tarball.exists() and not force:
        _log(f"rootfs: cached {tarball}")
        return tarball
    if os.geteuid() != 0:
        raise BuildError("building the rootfs needs root (debootstrap and chroot)")
    if not shutil.which("debootstrap"):
        raise BuildError("debootstrap is not installed (apt-get install debootstrap)")
    mirrors = debian_mirrors()
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
    root = work / "root"
    try:
        with _step(f"debootstrap --variant=minbase {SUITE} from {mirrors[SUITE]}"):
            _run(
                ["debootstrap", "--variant=minbase", SUITE, str(root), mirrors[SUITE]],
                "debootstrap",
            )
        with _step(f"apt-get install {' '.join(PACKAGES)} (chroot)"):
            _configure_chroot(root, mirrors)
            env = {
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "DEBIAN_FRONTEND": "noninteractive",
                "LC_ALL": "C",
            }
            _run(["chroot", str(root), "apt-get", "update"], "apt-get update (chroot)", env=env)
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
                "apt-get install (chroot)",
                env=env,
            )
            _run(
                [
                    "chroot",
                    str(root),
                    "sh",
                    "-c",
                    "groupadd -g 1000 s6 && useradd -u 1000 -g 1000 -M -d /nonexistent "
                    "-s /usr/sbin/nologin s6",
                ],
                "adding the uid 1000 user (chroot)",
                env=env,
            )
            _strip_rootfs(root)
        with _step("pack the rootfs"):
            partial = tarball.with_suffix(".tar.partial")
            _run(
                [
                    "tar",
                    "--numeric-owner",
                    "--exclude=./dev/*",
                    "-C",
                    str(root),
                    "-cf",
                    str(partial),
                    ".",
                ],
                "tar",
            )
            partial.rename(tarball)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tarball


def _configure_chroot(root: Path, mirrors: dict[str, str]) -> None:
    lines = [f"deb {mirrors[SUITE]} {SUITE} main"]
    if f"{SUITE}-updates" in mirrors:
        lines.append(f"deb {mirrors[f'{SUITE}-updates']} {SUITE}-updates main")
    if f"{SUITE}-security" in mirrors:
        lines.append(f"deb {mirrors[f'{SUITE}-security']} {SUITE}-security main")
    (root / "etc/apt/sources.list").write_text("\n".join(lines) + "\n")
    conf = root / "etc/apt/apt.conf.d"
    # snapshot mirrors serve Release files past their Valid-Until date
    (conf / "90testbed").write_text(
        'Acquire::Check-Valid-Until "false";\nAcquire::Languages "none";\n'
        'APT::Install-Recommends "false";\n'
    )
    for name in glob.glob("/etc/apt/apt.conf.d/*"):  # a proxy the machine needs
        text = Path(name).read_text(errors="replace")
        if "proxy" in text.lower():
            shutil.copy(name, conf / Path(name).name)
    for name in ("etc/resolv.conf", "etc/hosts"):
        shutil.copy(f"/{name}", root / name)
    policy = root / "usr/sbin/policy-rc.d"  # no service starts inside the chroot
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)


def _strip_rootfs(root: Path) -> None:
    for pattern in (
        "var/lib/apt/lists/*",
        "var/cache/apt/*.bin",
        "var/cache/apt/archives/*.deb",
        "usr/share/doc/*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
        "var/log/*.log",
        "var/log/apt/*",
    ):
        for path in glob.glob(str(root / pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
    (root / "etc/resolv.conf").write_text("")


# --- docker --------------------------------------------------------------------------


def _docker(*args: str, what: str, **kwargs) -> subprocess.CompletedProcess:
    return _run(["docker", *args], what, **kwargs)


def _image_labels(refs: list[str]) -> dict[str, str | None]:
    """{ref: value of LABEL or None when the image is missing}."""
    result = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{LABEL}"}}}}',
            *refs,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return dict(zip(refs, result.stdout.split(), strict=False))
    labels: dict[str, str | None] = {}
    for ref in refs:
        one = subprocess.run(
            [
                "docker",
                "image",
                "inspect",
                "--format",
                f'{{{{index .Config.Labels "{LABEL}"}}}}',
                ref,
            ],
            capture_output=True,
            text=True,
        )
        labels[ref] = one.stdout.strip() if one.returncode == 0 else None
    return labels


def images_current() -> bool:
    refs = [image_ref(svc, tag) for svc in SERVICES for tag in TAGS]
    labels = _image_labels(refs)
    if os.environ.get("JSTEST_TESTBED_TRUST") == "1":
        # Several work trees share one engine: take the images as they are (each tree
        # rebuilds only the stand-in it changes, with --only) instead of rebuilding all
        # from its own sources and undoing another tree's stand-in. Never set in CI.
        return len(labels) == len(refs) and all(value for value in labels.values())
    want = sources_hash()
    return len(labels) == len(refs) and all(value == want for value in labels.values())


def _check_docker() -> None:
    from jitsi_stack.ops.preflight import docker_problem  # the product's one availability check

    problem = docker_problem()
    if problem:
        raise BuildError(problem)


def _build(
    dockerfile: str, tags: list[str], build_args: dict[str, str], labels: dict[str, str], what: str
) -> None:
    cmd = ["build", "--quiet", "-f", str(CONTEXT / dockerfile)]
    for tag in tags:
        cmd += ["-t", tag]
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    for key, value in labels.items():
        cmd += ["--label", f"{key}={value}"]
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    _docker(*cmd, str(CONTEXT), what=what, env=env)


EXECUTABLES = (
    "base/init",
    "base/fix-run",
    "prosody/run",
    "prosody/healthcheck.sh",
    "jicofo/healthcheck.sh",
    "jvb/healthcheck.sh",
    "coturn/docker-entrypoint.sh",
    "coturn/detect-external-ip.sh",
)


def build_images(force: bool = False, only: tuple[str, ...] = ()) -> None:
    """Build the rootfs (cached), the base and every service image; with `only`, just
    those services (and no clean-up of older builds, which other images may still use)."""
    for name in EXECUTABLES:  # COPY keeps the mode; a checkout may have lost it
        (CONTEXT / name).chmod(0o755)
    digest = sources_hash()
    tarball = _rootfs_tarball(force)
    rootfs = f"{REPO}/rootfs:{rootfs_key()}"
    exists = subprocess.run(["docker", "image", "inspect", rootfs], capture_output=True)
    if exists.returncode != 0 or force:
        with _step(f"docker import {rootfs}"):
            _docker(
                "import",
                "--change",
                f"LABEL {LABEL}=rootfs-{rootfs_key()}",
                "--message",
                "jitsi-stack test bed rootfs",
                str(tarball),
                rootfs,
                what="docker import",
            )
    base = f"{REPO}/base:{digest}"
    with _step(f"docker build {base}"):
        _build("base/Dockerfile", [base], {"ROOTFS": rootfs}, {LABEL: digest}, "build base")
    for svc in only or SERVICES:
        with _step(f"docker build {REPO}/{svc}"):
            labels = {
                LABEL: digest,
                "org.opencontainers.image.title": f"test-bed {svc}",
                "org.opencontainers.image.version": "good",
            }
            good = image_ref(svc, "good")
            _build(f"{svc}/Dockerfile", [good], {"BASE": base}, labels, f"build {svc}")
            if svc == "jvb":
                labels["org.opencontainers.image.version"] = "broken"
                _build(
                    f"{svc}/Dockerfile",
                    [image_ref(svc, "broken")],
                    {"BASE": base, "BROKEN": "1"},
                    labels,
                    f"build {svc} (broken)",
                )
            else:
                _docker("tag", good, image_ref(svc, "broken"), what="docker tag")
    if only:
        return
    _forget_old_builds(keep={f"{REPO}/rootfs": rootfs_key(), f"{REPO}/base": digest})


def _forget_old_builds(keep: dict[str, str]) -> None:
    """Drop earlier rootfs/base images and rootfs tarballs of the test bed.

    Images still used by a container stay; a later build removes them.
    """
    prune = ["docker", "image", "prune", "--force", "--filter", f"label={LABEL}"]
    subprocess.run(prune, capture_output=True)  # service images first: they hold old bases
    for repo, tag in keep.items():
        listed = subprocess.run(
            ["docker", "image", "ls", repo, "--format", "{{.Tag}}"], capture_output=True, text=True
        )
        old = [f"{repo}:{t}" for t in listed.stdout.split() if t != tag]
        if old:
            subprocess.run(["docker", "image", "rm", *old], capture_output=True)
    subprocess.run(prune, capture_output=True)
    for tarball in cache_dir().glob(f"rootfs-{SUITE}-*.tar"):
        if tarball.name != f"rootfs-{SUITE}-{rootfs_key()}.tar":
            tarball.unlink()


def ensure_images(tag: str = "good", force: bool = False) -> dict[str, str]:
    """Make sure the test-bed images exist and match the sources; build them if not.

    Returns {service: image reference} for `tag` ("good" or "broken"), e.g.
    {"web": "jitsi-stack-testbed/web:good", ...}. Raises BuildError.
    """
    if tag not in TAGS:
        raise ValueError(f"tag must be one of {TAGS}, not {tag!r}")
    _check_docker()
    start = time.monotonic()
    if force or not images_current():
        with _lock():
            if force or not images_current():  # another process may have built them
                build_images(force=force)
        _log(f"images ready in {time.monotonic() - start:.1f}s")
    else:
        _log(f"images up to date ({sources_hash()}), {time.monotonic() - start:.1f}s")
    return {svc: image_ref(svc, tag) for svc in SERVICES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--force", action="store_true", help="rebuild the rootfs and all images even if cached"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SERVICES,
        default=(),
        help="rebuild just these stand-ins from this tree's sources (for parallel work trees)",
    )
    args = parser.parse_args(argv)
    if args.only:
        try:
            _check_docker()
            with _lock():
                build_images(only=tuple(args.only))
        except BuildError as exc:
            print(f"testbed build failed: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        images = ensure_images(force=args.force)
    except BuildError as exc:
        print(f"testbed build failed: {exc}", file=sys.stderr)
        return 1
    for svc in SERVICES:
        print(f"{images[svc]}  {image_ref(svc, 'broken')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
