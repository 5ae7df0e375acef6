"""XMPP basics the probes share: namespaces, errors, the deadline, safe XML parsing."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

BOSH_NS = "http://jabber.org/protocol/httpbind"
XBOSH_NS = "urn:xmpp:xbosh"
CLIENT_NS = "jabber:client"
STREAM_NS = "http://etherx.jabber.org/streams"
STANZAS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"
STREAMS_ERR_NS = "urn:ietf:params:xml:ns:xmpp-streams"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind"
SESSION_NS = "urn:ietf:params:xml:ns:xmpp-session"
FRAMING_NS = "urn:ietf:params:xml:ns:xmpp-framing"
MUC_NS = "http://jabber.org/protocol/muc"
MUC_USER_NS = "http://jabber.org/protocol/muc#user"
DISCO_ITEMS_NS = "http://jabber.org/protocol/disco#items"
FOCUS_NS = "http://jitsi.org/protocol/focus"
EXTDISCO_NS = "urn:xmpp:extdisco:2"  # external service discovery (TURN credentials)

BOSH_MAX_WAIT = 10  # seconds prosody may hold an empty poll; answers come sooner
CLEANUP_TIMEOUT = 2.0  # seconds granted to leave/terminate even after the deadline


def qname(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class ProbeError(Exception):
    """A probe step failed. ``str(err)`` is one line; ``stage`` names the step."""

    def __init__(self, message: str, *, stage: str = "", condition: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.condition = condition


class ProbeTimeout(ProbeError):
    """The deadline passed while waiting for ``stage``."""


class HttpStatusError(ProbeError):
    """The HTTP endpoint answered with a non-200 status."""

    def __init__(self, status: int, url: str, *, stage: str = "") -> None:
        super().__init__(f"HTTP {status} from {url}", stage=stage)
        self.status = status
        self.url = url


class NotXmppError(ProbeError):
    """The answer is not BOSH/XMPP (an HTML page, garbage, a missing attribute)."""


class StreamError(ProbeError):
    """The server ended the session (BOSH terminate or a stream error)."""


class SaslError(ProbeError):
    """A SASL mechanism is not offered or failed."""


class StanzaError(ProbeError):
    """An IQ or presence came back with type='error'."""


class Deadline:
    """A point in time every network step of one probe must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def left(self, what: str) -> float:
        """Seconds left; raises :class:`ProbeTimeout` naming ``what`` when none are."""
        rest = self.remaining()
        if rest <= 0:
            raise ProbeTimeout(f"timed out after {self.seconds:g}s {what}", stage=what)
        return rest


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse one XML document or fragment received from the server.

    XMPP forbids DTDs (RFC 6120 section 11.1), so any DOCTYPE/ENTITY is rejected before
    parsing; expat never fetches external entities. This is why the stdlib parser is safe here.
    """
    probe = data if isinstance(data, bytes) else data.encode("utf-8", "replace")
    if b"<!DOCTYPE" in probe or b"<!ENTITY" in probe:
        raise NotXmppError("answer contains a DTD, which XMPP forbids (not an XMPP server?)")
    try:
        return ET.fromstring(data)  # noqa: S314 - DTDs rejected above, no external entities
    except ET.ParseError as exc:
        snippet = probe[:60].decode("utf-8", "replace").replace("\n", " ")
        raise NotXmppError(f"answer is not XML ({exc}): {snippet!r}") from exc


def xml_attrs(attrs: dict[str, str]) -> str:
    return "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())


def error_condition(el: ET.Element) -> str:
    """The defined condition of a stanza or stream error element, e.g. 'not-authorized'."""
    err = el.find(qname(CLIENT_NS, "error"))
    if err is None:
        err = el.find("error")
    target = err if err is not None else el
    for child in target:
        if local_name(child.tag) != "text":
            return local_name(child.tag)
    return "undefined-condition"


def bare_jid(jid: str | None) -> str:
    return (jid or "").split("/", 1)[0].lower()
