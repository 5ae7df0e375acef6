"""A minimal XMPP client over BOSH (XEP-0124/0206), as lib-jitsi-meet connects:
the JWT goes in the URL (`/http-bind?token=...`), the login is SASL ANONYMOUS.

    client = BoshClient("http://127.0.0.1:19511/http-bind", "meet.jitsi", token=jwt)
    client.connect()
    client.login_anonymous()          # SaslFailure(condition, text) when refused
    jid = client.bind()
    services = client.iq("get", "<services xmlns='urn:xmpp:extdisco:2'/>", to="meet.jitsi")
    presence = client.join("room@muc.meet.jitsi", "nick")   # StanzaFailure when refused
    client.close()

Strictly sequential: one request in flight; every answer is parsed with
ElementTree and kept in an inbox until a caller asks for it.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import requests

BOSH = "http://jabber.org/protocol/httpbind"
XBOSH = "urn:xmpp:xbosh"
CLIENT = "jabber:client"
STREAM = "http://etherx.jabber.org/streams"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
MUC = "http://jabber.org/protocol/muc"
MUC_USER = "http://jabber.org/protocol/muc#user"
FOCUS = "http://jitsi.org/protocol/focus"
EXTDISCO = "urn:xmpp:extdisco:2"


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def attrs(**values: str) -> str:
    return "".join(
        f" {k.replace('__', ':').replace('_', '-')}={quoteattr(v)}" for k, v in values.items()
    )


class XmppFailure(AssertionError):
    """The server refused: `condition` is the XMPP/SASL condition, `text` its text."""

    def __init__(self, what: str, condition: str, text: str = "") -> None:
        super().__init__(f"{what}: {condition}" + (f" ({text})" if text else ""))
        self.condition = condition
        self.text = text


class SaslFailure(XmppFailure):
    pass


class StanzaFailure(XmppFailure):
    pass


def _error_of(el: ET.Element) -> tuple[str, str]:
    error = el.find(q(CLIENT, "error"))
    if error is None:
        return "undefined-condition", ""
    condition = next((c.tag.split("}")[-1] for c in error if c.tag != q(STANZAS, "text")), "")
    text = error.findtext(q(STANZAS, "text")) or ""
    return condition or "undefined-condition", text


class BoshClient:
    def __init__(self, url: str, domain: str, token: str | None = None, timeout: float = 20):
        self.url = url if token is None else f"{url}?token={quote(token, safe='')}"
        self.plain_url = url
        self.domain = domain
        self.timeout = timeout
        self.http = requests.Session()
        self.rid = secrets.randbelow(2**32) + 2**20
        self.sid: str | None = None
        self.features: ET.Element | None = None
        self.jid: str | None = None
        self.inbox: list[ET.Element] = []
        self._ids = itertools.count(1)

    # transport
    def _post(self, payload: str = "", url: str | None = None, **extra: str) -> ET.Element:
        self.rid += 1
        values = {"rid": str(self.rid), "xmlns": BOSH}
        if self.sid:
            values["sid"] = self.sid
        values.update(extra)
        body = f"<body{attrs(**values)}>{payload}</body>"
        resp = self.http.post(
            url or self.plain_url,
            data=body.encode(),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=self.timeout,
        )
        resp.raise_for_status()
        root = ET.fromstring(resp.content)
        if root.get("type") == "terminate":
            raise XmppFailure("BOSH session terminated", root.get("condition") or "")
        for child in root:
            if child.tag == q(STREAM, "features"):
                self.features = child
            else:
                self.inbox.append(child)
        return root

    def wait_for(self, predicate: Callable[[ET.Element], bool], timeout: float = 10) -> ET.Element:
        deadline = time.monotonic() + timeout
        while True:
            for i, el in enumerate(self.inbox):
                if predicate(el):
                    return self.inbox.pop(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing matching in {timeout}s; got {self.inbox!r}")
            self._post()  # an empty poll, held by the server until it has data

    # session
    def connect(self) -> ET.Element:
        """Create the session on the URL that carries the token."""
        root = self._post(
            url=self.url,
            content="text/xml; charset=utf-8",
            hold="1",
            to=self.domain,
            ver="1.6",
            wait="2",
            xml__lang="en",
            xmpp__version="1.0",
            xmlns__xmpp=XBOSH,
        )
        self.sid = root.get("sid")
        assert self.sid, "no BOSH session id"
        while self.features is None:
            self._post()
        return self.features

    def mechanisms(self) -> list[str]:
        mechs = self.features.find(q(SASL, "mechanisms")) if self.features is not None else None
        return [] if mechs is None else [m.text or "" for m in mechs]

    def login_anonymous(self) -> None:
        self._post(f"<auth xmlns='{SASL}' mechanism='ANONYMOUS'/>")
        answer = self.wait_for(lambda e: e.tag in (q(SASL, "success"), q(SASL, "failure")))
        if answer.tag == q(SASL, "failure"):
            condition = next((c.tag.split("}")[-1] for c in answer if c.tag != q(SASL, "text")), "")
            raise SaslFailure(
                "SASL ANONYMOUS refused", condition, answer.findtext(q(SASL, "text")) or ""
            )
        self.features = None
        self._post(to=self.domain, xml__lang="en", xmpp__restart="true", xmlns__xmpp=XBOSH)
        while self.features is None:
            self._post()

    def iq(self, kind: str, payload: str, to: str | None = None) -> ET.Element:
        iq_id = f"tb{next(self._ids)}"
        extra = {"to": to} if to else {}
        self._post(f"<iq xmlns='{CLIENT}'{attrs(type=kind, id=iq_id, **extra)}>{payload}</iq>")
        answer = self.wait_for(
            lambda e: (
                e.tag == q(CLIENT, "iq")
                and e.get("id") == iq_id
                and e.get("type") in ("result", "error")
            )
        )
        if answer.get("type") == "error":
            raise StanzaFailure(f"iq {kind} to {to}", *_error_of(answer))
        return answer

    def bind(self) -> str:
        result = self.iq("set", f"<bind xmlns='{BIND}'/>")
        self.jid = result.findtext(f"{q(BIND, 'bind')}/{q(BIND, 'jid')}")
        assert self.jid, "bind gave no JID"
        return self.jid

    def login(self) -> str:
        """connect, SASL ANONYMOUS, bind: the full login; returns the JID."""
        self.connect()
        self.login_anonymous()
        return self.bind()

    def external_services(self) -> list[dict[str, str]]:
        """XEP-0215 services (lib-jitsi-meet asks the domain), as attribute dicts."""
        result = self.iq("get", f"<services xmlns='{EXTDISCO}'/>", to=self.domain)
        services = result.find(q(EXTDISCO, "services"))
        assert services is not None, ET.tostring(result)
        return [dict(s.attrib) for s in services.findall(q(EXTDISCO, "service"))]

    def conference(self, room_jid: str, focus: str = "focus.meet.jitsi") -> ET.Element:
        """The conference request lib-jitsi-meet sends to the focus component (config.js
        hosts.focus, focus.<XMPP_DOMAIN>; guests too) before joining."""
        request = attrs(room=room_jid, machine_uid=secrets.token_hex(8))
        result = self.iq("set", f"<conference xmlns='{FOCUS}'{request}/>", to=focus)
        conf = result.find(q(FOCUS, "conference"))
        assert conf is not None, ET.tostring(result)
        return conf

    def join(self, room_jid: str, nick: str) -> ET.Element:
        """Join a MUC room; returns our self-presence (status 110)."""
        to = attrs(to=f"{room_jid}/{nick}")
        self._post(f"<presence xmlns='{CLIENT}'{to}><x xmlns='{MUC}'/></presence>")

        def answer(el: ET.Element) -> bool:
            if el.tag != q(CLIENT, "presence") or not (el.get("from") or "").startswith(
                room_jid + "/"
            ):
                return False
            if el.get("type") == "error":
                return True
            x = el.find(q(MUC_USER, "x"))
            return x is not None and any(
                s.get("code") == "110" for s in x.findall(q(MUC_USER, "status"))
            )

        presence = self.wait_for(answer)
        if presence.get("type") == "error":
            raise StanzaFailure(f"join {room_jid}", *_error_of(presence))
        return presence

    @staticmethod
    def item(presence: ET.Element) -> dict[str, str]:
        """affiliation and role of a MUC presence."""
        item = presence.find(f"{q(MUC_USER, 'x')}/{q(MUC_USER, 'item')}")
        return dict(item.attrib) if item is not None else {}

    def close(self) -> None:
        if not self.sid:
            return
        with contextlib.suppress(requests.RequestException, XmppFailure, ET.ParseError):
            self._post(f"<presence xmlns='{CLIENT}' type='unavailable'/>", type="terminate")
        self.sid = None


FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


def websocket_sasl_anonymous(url: str, domain: str, token: str | None = None, timeout: float = 10):
    """Open an XMPP websocket (RFC 7395) on url[?token=...] and try SASL ANONYMOUS.

    Returns ("success", "", "") or ("failure", condition, text)."""
    import websocket  # websocket-client, a dependency of the smoke checks

    if token is not None:
        url = f"{url}?token={quote(token, safe='')}"
    ws = websocket.create_connection(url, subprotocols=["xmpp"], timeout=timeout)
    try:
        ws.send(f"<open xmlns='{FRAMING}' to='{domain}' version='1.0'/>")
        while True:
            el = ET.fromstring(ws.recv())
            if el.tag == q(STREAM, "features"):
                break
        ws.send(f"<auth xmlns='{SASL}' mechanism='ANONYMOUS'/>")
        while True:
            el = ET.fromstring(ws.recv())
            if el.tag == q(SASL, "success"):
                return "success", "", ""
            if el.tag == q(SASL, "failure"):
                condition = next((c.tag.split("}")[-1] for c in el if c.tag != q(SASL, "text")), "")
                return "failure", condition, el.findtext(q(SASL, "text")) or ""
    finally:
        ws.close()
