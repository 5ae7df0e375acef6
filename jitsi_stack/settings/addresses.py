"""`jvb.advertise_ips: [auto]`: the host's LAN address (the source address of its default
route) and its public one (what a STUN server sees, RFC 5389 binding request).

Detected once, by `inv start`, `inv render` or `inv addresses`, and kept in
.jitsi-stack/state.json with the STUN server asked: every later render uses the stored
result, so renders stay deterministic and need no network. `inv addresses --refresh`
asks again (after the host moved); changing jvb.stun_server makes the stored result stale.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time

from ..errors import StackError
from ..store.state import Detected

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
XOR_MAPPED_ADDRESS = 0x0020
MAPPED_ADDRESS = 0x0001
RETRIES = (0.5, 1.0, 2.0)  # seconds to wait for each of the three tries (RFC 5389 7.2.1)
# Where the default route points (a TEST-NET address: connect() on UDP sends nothing)
ROUTE_PROBE: dict[int, tuple[str, int]] = {
    socket.AF_INET: ("192.0.2.1", 9),
    socket.AF_INET6: ("2001:db8::1", 9),
}


def lan_address(family: int = socket.AF_INET) -> str | None:
    """The address this host sends from on its default route; None without one."""
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(ROUTE_PROBE[family])
            address = sock.getsockname()[0]
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    return None if ip.is_loopback or ip.is_unspecified or ip.is_link_local else address


def binding_request(transaction: bytes) -> bytes:
    return struct.pack("!HHI", BINDING_REQUEST, 0, MAGIC) + transaction


def parse_binding_response(data: bytes, transaction: bytes) -> str:
    """The mapped address of a Binding success response; ValueError for anything else."""
    if len(data) < 20:
        raise ValueError("short STUN message")
    kind, length, magic = struct.unpack("!HHI", data[:8])
    if magic != MAGIC or data[8:20] != transaction:
        raise ValueError("not an answer to our request")
    if kind != BINDING_SUCCESS:
        raise ValueError(f"STUN error response (type 0x{kind:04x})")
    body = data[20 : 20 + length]
    found: dict[int, str] = {}
    while len(body) >= 4:
        attr, size = struct.unpack("!HH", body[:4])
        value = body[4 : 4 + size]
        body = body[4 + ((size + 3) & ~3) :]
        if attr in (XOR_MAPPED_ADDRESS, MAPPED_ADDRESS) and len(value) >= 8:
            family = value[1]
            raw = value[4:]
            if attr == XOR_MAPPED_ADDRESS:
                mask = struct.pack("!I", MAGIC) + transaction
                raw = bytes(b ^ m for b, m in zip(raw, mask, strict=False))
            if family == 1 and len(raw) >= 4:
                found[attr] = str(ipaddress.IPv4Address(raw[:4]))
            elif family == 2 and len(raw) >= 16:
                found[attr] = str(ipaddress.IPv6Address(raw[:16]))
    address = found.get(XOR_MAPPED_ADDRESS) or found.get(MAPPED_ADDRESS)
    if not address:
        raise ValueError("STUN answer without a mapped address")
    return address


def stun_public(server: str) -> str:
    """The address `server` (host:port) sees this host's UDP packets come from."""
    host, _, port = server.rpartition(":")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)
    except (OSError, ValueError) as err:
        raise StackError(
            f"jvb.stun_server: cannot resolve {server} ({err}): fix the name, or list the "
            "public address in jvb.advertise_ips instead of auto"
        ) from None
    family, _, _, _, target = infos[0]
    import secrets  # here: loading the settings only reads what was detected

    transaction = secrets.token_bytes(12)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        for wait in RETRIES:
            # each try ends at its own deadline, however many stray datagrams arrive: a
            # peer that keeps sending junk cannot keep detection waiting
            deadline = time.monotonic() + wait
            try:
                sock.sendto(binding_request(transaction), target)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    sock.settimeout(left)
                    data, _ = sock.recvfrom(2048)
                    try:
                        return parse_binding_response(data, transaction)
                    except ValueError as err:
                        if "not an answer" in str(err) or "short" in str(err):
                            continue  # a stray datagram (anyone's): keep listening
                        raise StackError(
                            f"jvb.stun_server: {server} answered badly: {err}"
                        ) from None
            except TimeoutError:
                continue
            except OSError as err:
                raise StackError(f"jvb.stun_server: {server}: {err.strerror or err}") from None
    raise StackError(
        f"jvb.stun_server: no answer from {server} over UDP in {sum(RETRIES):g}s: check the "
        "server and the firewall, or list the public address in jvb.advertise_ips"
    )


def detect(stun: str, *, local: bool = False) -> Detected:
    """The LAN address, and the public one when a STUN server is named. A STUN answer no
    browser could send media to (loopback, multicast, ...: validators.unusable_kind) is
    refused, as the same address in jvb.advertise_ips would be; `local`: the public URL
    is local, so loopback and link-local answers are kept."""
    from ..validators import only_this_host, unusable_kind

    public = stun_public(stun) if stun else ""
    kind = unusable_kind(ipaddress.ip_address(public)) if public else None
    if kind and not (local and only_this_host(kind)):
        raise StackError(
            f"jvb.stun_server: {stun} answered {public}, a {kind} address, which cannot "
            "carry media to browsers: ask a STUN server outside this host's networks, or "
            "list the public address in jvb.advertise_ips"
        )
    lan = lan_address()
    import datetime as _dt

    at = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Detected(
        lan=(lan,) if lan and lan != public else (),
        public=(public,) if public else (),
        stun=stun,
        at=at,
    )


def wanted(values: dict) -> bool:
    """The merged settings ask for detection: `auto` as an entry of a list. A scalar
    (`advertise_ips: auto`) is not a request: the settings' rules refuse it in one line
    before anything is detected or written."""
    jvb = values.get("jvb")
    ips = jvb.get("advertise_ips") if isinstance(jvb, dict) else None
    return isinstance(ips, list) and "auto" in ips


def local_url(values: dict) -> bool:
    """The merged settings' public_url is this machine (localhost, a loopback address)."""
    from urllib.parse import urlsplit

    from ..validators import is_loopback_host
    from .schema import FIELDS

    url = values.get("public_url") or FIELDS["public_url"].default
    try:
        return is_loopback_host(urlsplit(str(url)).hostname or "")
    except ValueError:
        return False


def current(root, asked: dict, *, refresh: bool = False) -> tuple[Detected | None, str | None]:
    """(what is stored and still valid, the STUN server to ask when detection is due).
    (None, None): the settings do not say auto, or say it in a form their rules refuse.
    asked: the merged files and environment (Settings.asked). Reads the state file only:
    no network, no lock."""
    from ..store import state

    tree = asked
    if not wanted(tree) or not isinstance(tree["jvb"].get("stun_server") or "", str):
        return None, None
    stun = tree["jvb"].get("stun_server") or ""
    stored = state.read(root).addresses
    if stored and not refresh and stored.stun == stun:
        return stored, None
    return stored, stun


def store(root, found: Detected) -> None:
    from ..store import state

    recorded = state.read(root)
    recorded.addresses = found
    state.write(root, recorded)
