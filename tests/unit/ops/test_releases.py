"""`inv update --check` against a registry speaking the Docker Registry HTTP API v2 as
its specification and ghcr.io do: tags/list paged with Link headers, a 401 Bearer
challenge answered with an anonymous token. tests/docker/test_releases.py asks the real
registry (Debian's docker-registry)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from jitsi_stack.errors import StackError
from jitsi_stack.ops.releases import newer, order, split_repository, tags
from tests.support.project import run_cli, write_settings

TAGS = {
    "jitsi/web": [
        "stable-11146-2",
        "stable-11200",
        "stable-11300-1",
        "stable-99999",
        "latest",
        "unstable-1",
    ],
    "jitsi/prosody": ["stable-11146-2", "stable-11200", "stable-11300-1", "latest"],
    "jitsi/jicofo": ["stable-11146-2", "stable-11200", "stable-11300-1"],
    "jitsi/jvb": ["stable-11146-2", "stable-11200", "stable-11300-1", "stable-11146-1"],
}


class Registry(BaseHTTPRequestHandler):
    token = "anon-token"  # a test token
    page = 2

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # http.server's name
        parts = urlsplit(self.path)
        host = self.headers["Host"]
        if parts.path == "/token":
            query = parse_qs(parts.query)
            assert query["service"] == ["registry.test"]
            assert query["scope"][0].startswith("repository:jitsi/")
            return self.reply(200, {"token": self.token})
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self.send_response(401)
            name = parts.path.split("/v2/", 1)[1].rsplit("/tags/list", 1)[0]
            self.send_header(
                "WWW-Authenticate",
                f'Bearer realm="http://{host}/token",service="registry.test",'
                f'scope="repository:{name}:pull"',
            )
            self.end_headers()
            return None
        name = parts.path.split("/v2/", 1)[1].rsplit("/tags/list", 1)[0]
        if name not in TAGS:
            return self.reply(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
        last = parse_qs(parts.query).get("last", [""])[0]
        every = sorted(TAGS[name])
        start = every.index(last) + 1 if last else 0
        chunk = every[start : start + self.page]
        link = None
        if start + self.page < len(every):
            link = f'</v2/{name}/tags/list?n={self.page}&last={chunk[-1]}>; rel="next"'
        return self.reply(200, {"name": name, "tags": chunk}, link)

    def reply(self, status, body, link=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_tags_follow_the_bearer_challenge_and_every_page(registry):
    assert sorted(tags(f"{registry}/jitsi", "web")) == sorted(TAGS["jitsi/web"])


def test_a_release_counts_only_when_every_image_has_it(registry):
    found = newer(f"{registry}/jitsi", ["jicofo", "jvb", "prosody", "web"], "stable-11146-2")
    assert [r.tag for r in found] == ["stable-11200", "stable-11300-1"]  # not web's 99999
    assert [r.tested for r in found] == [False, False]  # newer than what we tested
    assert [r.tag for r in newer(f"{registry}/jitsi", ["jvb"], "stable-11146-1")][:1] == [
        "stable-11146-2"
    ]
    assert newer(f"{registry}/jitsi", ["jvb"], "stable-11146-1")[0].tested


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("stable-11146-2", (11146, 2)),
        ("stable-11146", (11146, 0)),
        ("latest", None),
        ("stable-x", None),
        ("unstable-11146", None),
    ],
)
def test_stable_tags_are_ordered_by_number(tag, key):
    assert order(tag) == key


@pytest.mark.parametrize(
    ("repository", "split"),
    [
        ("ghcr.io/jitsi", ("https", "ghcr.io", "jitsi")),
        ("jitsi", ("https", "registry-1.docker.io", "library/jitsi")),
        ("docker.io/jitsi", ("https", "docker.io", "jitsi")),
        ("myorg/jitsi", ("https", "registry-1.docker.io", "myorg/jitsi")),
        ("127.0.0.1:5000/jitsi", ("http", "127.0.0.1:5000", "jitsi")),
        ("localhost:5000/a/b", ("http", "localhost:5000", "a/b")),
        ("registry.example.com:8443/jitsi", ("https", "registry.example.com:8443", "jitsi")),
    ],
)
def test_the_registry_is_read_from_images_repository(repository, split):
    assert split_repository(repository) == split


def test_an_unknown_image_or_no_registry_is_one_line(registry):
    with pytest.raises(StackError, match="has no image jitsi/jibri: check images.repository"):
        tags(f"{registry}/jitsi", "jibri")
    with pytest.raises(StackError, match="cannot ask the registry for the tags of jitsi/web"):
        tags("127.0.0.1:9/jitsi", "web", timeout=2)


def test_the_task_lists_newer_releases_and_exits_1(registry, root):
    write_settings(root, f"images: {{repository: '{registry}/jitsi', tag: stable-11146-2}}\n")
    out = run_cli(root, "update", "--check", "--json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["running"] == "stable-11146-2"
    assert [r["tag"] for r in data["newer"]] == ["stable-11200", "stable-11300-1"]
    write_settings(root, f"images: {{repository: '{registry}/jitsi', tag: stable-11300-1}}\n")
    out = run_cli(root, "update", "--check")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("up to date: stable-11300-1 is the newest stable release")


def test_the_task_says_when_it_cannot_check_with_exit_3(root):
    write_settings(root, "images: {repository: '127.0.0.1:9/jitsi'}\n")
    out = run_cli(root, "update", "--check")
    assert out.returncode == 3
    assert len(out.lines) == 1 and out.lines[0].startswith(
        "error: 127.0.0.1:9: cannot ask the registry"
    )
