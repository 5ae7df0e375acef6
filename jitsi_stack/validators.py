"""Small, pure checks every other module shares: names, domains, addresses, tags.

A leaf module (it imports nothing of the package), so settings, rules, the
Deployment, update and smoke all give the same answer to the same question.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_RE = re.compile(r"^[a-z0-9]+([._:/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
FLOATING_TAGS = frozenset({"latest", "stable", "unstable"})

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# Addresses no participant outside the host's networks can reach: RFC 1918, CGNAT,
# loopback, link-local, unique-local, unspecified and multicast. Documentation and
# benchmarking ranges (192.0.2.0/24, 203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32)
# count as public: they stand in for a public address in examples and tests.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


def is_domain(value: str) -> bool:
    if not value or len(value) > 253 or value.endswith("."):
        return False
    return all(LABEL_RE.match(label) for label in value.split("."))


def is_public_ip(ip: IP) -> bool:
    """True when participants outside the host's private networks can reach ip."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not any(ip.version == net.version and ip in net for net in _NOT_PUBLIC)


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # RFC 1122 3.2.1.3: never a destination
_BROADCAST = ipaddress.ip_address("255.255.255.255")


def unusable_kind(ip: IP) -> str | None:
    """What kind of address ip is when a browser can never send a call's media to it from
    another machine ('loopback', 'unspecified', 'link-local', 'multicast', 'broadcast',
    'reserved'); None for a unicast address someone else can reach (public or private).
    An IPv4-mapped IPv6 address is judged by its IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified or (ip.version == 4 and ip in _THIS_NETWORK):
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip == _BROADCAST:
        return "broadcast"
    if ip.version == 4 and ip.is_reserved:
        return "reserved"
    return None


def only_this_host(kind: str | None) -> bool:
    """A kind of address that carries media on this host (or its link) only: fine when the
    public URL is local too. The others never carry a call's media anywhere."""
    return kind in ("loopback", "link-local")


def is_loopback_host(host: str) -> bool:
    """localhost, *.localhost (RFC 6761) or a loopback address: only this machine."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_is_public(host: str) -> bool:
    """Whether a URL host names something outside this machine and its private networks."""
    host = (host or "").strip("[]")
    if is_loopback_host(host):
        return False
    try:
        return is_public_ip(ipaddress.ip_address(host))
    except ValueError:
        return "." in host and not host.endswith((".local", ".lan", ".internal", ".home.arpa"))


def parse_advertise_ip(item: str) -> tuple[IP, int | None]:
    """'IP' or 'IP#PORT', as upstream's JVB_ADVERTISE_IPS; raises ValueError.

    jvb splits each entry at '#' and hands the address to ice4j as it is, so an IPv6
    address is written bare (2001:db8::1#10000), never in brackets.
    """
    addr, sep, port = str(item).partition("#")
    ip = ipaddress.ip_address(addr)  # no strip: ' 1.2.3.4' is not what jvb parses either
    if not sep:
        return ip, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"bad port {port!r}")
    return ip, int(port)


# A meeting token's lifetime at most (tokens.mint, auth.jwt.token_ttl, inv token --ttl): a
# leaked meeting link must die some day; a year and a day covers every shift plan.
MAX_TOKEN_TTL = 366 * 86400


# The oldest upstream release whose layout the templates render: before stable-11146 the
# images run as root on ports 80/443 (and ship on Docker Hub); stable-11146 and -1 also
# mount tmp/web-crontabs (git diff stable-11146-1..stable-11146-2 of docker-compose.yml).
FIRST_SUPPORTED = (11146, 2)
STABLE_RE = re.compile(r"^stable-(\d+)(?:-(\d+))?$")


def tag_problem(tag: str) -> str | None:
    """None for a pinned, well-formed, supported image tag, else what is wrong and the fix.
    Tags outside upstream's stable-N[-M] scheme (a local build, a mirror) are the
    operator's to vouch for."""
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        return f"{show(tag)} is not a valid image tag: use e.g. stable-11146-2"
    stable = STABLE_RE.match(tag)
    if stable and (int(stable.group(1)), int(stable.group(2) or 0)) < FIRST_SUPPORTED:
        return (
            f"{tag} is older than stable-11146-2, the first release this jitsi-stack renders "
            "for (uid 1000, ports 8000/8443, no tmp/web-crontabs): use stable-11146-2 or newer"
        )
    if tag in FLOATING_TAGS:
        return (
            f"{tag!r} floats between releases and breaks upgrades: pin a release such as "
            "stable-11146-2"
        )
    return None


def suggest(name: str, options: Iterable[str]) -> str:
    import difflib  # here: only a wrong name needs a suggestion

    close = difflib.get_close_matches(str(name), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


SHOW_LIMIT = 60


def show(value: object, limit: int = SHOW_LIMIT) -> str:
    """repr() of a value for a one-line message: control characters escaped, length capped."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 5] + "...'" if text[:1] in "'\"" else text[: limit - 3] + "..."
    return text
