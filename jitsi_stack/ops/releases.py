"""`inv update --check`: the stable releases newer than the running tag, from the image
registry's tags API (Docker Registry HTTP API v2: GET /v2/<name>/tags/list, paged with
`Link: <...>; rel="next"`; a 401 with `WWW-Authenticate: Bearer realm=,service=,scope=`
is answered with an anonymous token from the realm, as ghcr.io and Docker Hub ask).

A release counts only when every Jitsi image of the deployment carries the tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin

import requests

from ..errors import StackError
from ..settings.upstream import RELEASE

STABLE = re.compile(r"^stable-(\d+)(?:-(\d+))?$")
MAX_PAGES = 50
CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def order(tag: str) -> tuple[int, int] | None:
    """stable-11146-2 -> (11146, 2); stable-11146 -> (11146, 0); anything else None."""
    match = STABLE.match(tag)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


@dataclass(frozen=True)
class Release:
    tag: str
    tested: bool  # the release this jitsi-stack version was built and tested against, or older

    def to_json(self) -> dict:
        return {"tag": self.tag, "tested": self.tested}


def split_repository(repository: str) -> tuple[str, str, str]:
    """images.repository -> (scheme, registry host, path prefix): ghcr.io/jitsi ->
    ("https", "ghcr.io", "jitsi"); a name without a registry host is Docker Hub."""
    first, _, rest = repository.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        return "https", "registry-1.docker.io", repository if rest else f"library/{repository}"
    host = first
    local = host.split(":")[0] in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
    return ("http" if local else "https"), host, rest


def tags(repository: str, image: str, timeout: float = 10.0) -> list[str]:
    """Every tag of repository/image."""
    scheme, host, prefix = split_repository(repository)
    name = f"{prefix}/{image}"
    url = f"{scheme}://{host}/v2/{name}/tags/list?n=1000"
    session = requests.Session()
    found: list[str] = []
    for _ in range(MAX_PAGES):
        response = _get(session, url, timeout, name, host)
        try:
            found += list(response.json().get("tags") or [])
        except (ValueError, AttributeError):
            raise StackError(
                f"{host}: the tags of {name} are not JSON: is it a registry?"
            ) from None
        following = response.links.get("next", {}).get("url")
        if not following:
            return found
        url = urljoin(url, following)
    return found


def _get(session: requests.Session, url: str, timeout: float, name: str, host: str):
    try:
        response = session.get(url, timeout=timeout)
        if response.status_code == 401:
            session.headers["Authorization"] = f"Bearer {_token(session, response, timeout)}"
            response = session.get(url, timeout=timeout)
    except requests.RequestException as err:
        raise StackError(
            f"{host}: cannot ask the registry for the tags of {name} ({err.__class__.__name__}): "
            "check the network or images.repository"
        ) from None
    if response.status_code == 404:
        raise StackError(f"{host}: has no image {name}: check images.repository")
    if response.status_code != 200:
        raise StackError(f"{host}: answered HTTP {response.status_code} for the tags of {name}")
    return response


def _token(session: requests.Session, challenge: requests.Response, timeout: float) -> str:
    header = challenge.headers.get("WWW-Authenticate", "")
    if not header.lower().startswith("bearer "):
        raise StackError("the registry wants credentials jitsi-stack does not have (not Bearer)")
    params = dict(CHALLENGE.findall(header))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise StackError("the registry's token realm is not an http(s) URL")
    answer = session.get(f"{realm}?{urlencode(params)}", timeout=timeout)
    if answer.status_code != 200:
        raise StackError(f"the registry refused an anonymous token (HTTP {answer.status_code})")
    data = answer.json()
    token = data.get("token") or data.get("access_token")
    if not token:
        raise StackError("the registry's token answer holds no token")
    return token


def newer(repository: str, images: list[str], current: str) -> list[Release]:
    """Stable releases above `current` that every image has, oldest first."""
    now = order(current) or (0, 0)
    common: set[str] | None = None
    for image in images:
        present = {t for t in tags(repository, image) if order(t)}
        common = present if common is None else common & present
    tested = order(RELEASE) or (0, 0)
    ranked = {t: rank for t in common or () if (rank := order(t)) is not None}
    chosen = sorted((t for t in ranked if ranked[t] > now), key=ranked.__getitem__)
    return [Release(t, ranked[t] <= tested) for t in chosen]
