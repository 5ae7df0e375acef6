"""An XMPP-over-websocket handshake (RFC 7395): open, read features, close."""

from __future__ import annotations

import contextlib
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .core import (
    FRAMING_NS,
    SASL_NS,
    STREAM_NS,
    Deadline,
    NotXmppError,
    ProbeError,
    ProbeTimeout,
    StreamError,
    error_condition,
    local_name,
    parse_xml,
    qname,
    xml_attrs,
)


@dataclass
class WebSocketAnswer:
    """What the RFC 7395 handshake showed."""

    subprotocol: str
    stream_from: str
    stream_id: str
    features: list[str]
    mechanisms: list[str]
    closed_by_server: bool


def websocket_probe(
    url: str, domain: str, deadline: Deadline, *, verify: bool | str = True
) -> WebSocketAnswer:
    """Open an XMPP-over-websocket stream, read <open/> and features, then close it."""
    import websocket  # websocket-client; imported late so the rest works without it

    # verify: False, True (the system's CAs) or a CA file, as requests takes it
    sslopt: dict[str, object] = {} if verify is True else {"ca_certs": verify} if verify else {}
    if not verify:
        sslopt = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    stage = "opening the websocket"
    try:
        ws = websocket.create_connection(
            url,
            timeout=deadline.left(stage),
            subprotocols=["xmpp"],
            sslopt=sslopt,
        )
    except websocket.WebSocketTimeoutException as exc:
        raise ProbeTimeout(f"timed out after {deadline.seconds:g}s {stage}", stage=stage) from exc
    try:
        subprotocol = ws.getsubprotocol() or ""
        ws.send(f"<open xmlns='{FRAMING_NS}'{xml_attrs({'to': domain, 'version': '1.0'})}/>")

        def receive(what: str) -> ET.Element:
            ws.settimeout(deadline.left(what))
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException as exc:
                raise ProbeTimeout(
                    f"timed out after {deadline.seconds:g}s {what}", stage=what
                ) from exc
            except websocket.WebSocketConnectionClosedException as exc:
                raise StreamError(f"server closed the websocket {what}", stage=what) from exc
            el = parse_xml(frame)
            if el.tag == qname(STREAM_NS, "error"):
                condition = error_condition(el)
                raise StreamError(f"stream error: {condition}", stage=what, condition=condition)
            return el

        opened = receive("waiting for <open/>")
        if opened.tag == qname(FRAMING_NS, "close"):
            raise StreamError(
                f"server closed the stream instead of opening it ({opened.get('see-other-uri')})",
                stage="waiting for <open/>",
                condition="see-other-uri",
            )
        if opened.tag != qname(FRAMING_NS, "open"):
            raise NotXmppError(
                f"expected <open/>, got <{local_name(opened.tag)}>", stage="waiting for <open/>"
            )
        features = receive("waiting for stream features")
        if features.tag != qname(STREAM_NS, "features"):
            raise NotXmppError(
                f"expected <stream:features/>, got <{local_name(features.tag)}>",
                stage="waiting for stream features",
            )
        mechs_el = features.find(qname(SASL_NS, "mechanisms"))
        mechanisms = (
            [m.text or "" for m in mechs_el.findall(qname(SASL_NS, "mechanism"))]
            if mechs_el is not None
            else []
        )
        ws.send(f"<close xmlns='{FRAMING_NS}'/>")
        closed = False
        try:
            ws.settimeout(max(0.1, min(deadline.remaining(), 1.0)))
            closed = parse_xml(ws.recv()).tag == qname(FRAMING_NS, "close")
        except (websocket.WebSocketException, ProbeError, OSError):
            pass  # the server may drop the TCP connection right away; that is fine
        return WebSocketAnswer(
            subprotocol=subprotocol,
            stream_from=opened.get("from", ""),
            stream_id=opened.get("id", ""),
            features=[local_name(f.tag) for f in features],
            mechanisms=mechanisms,
            closed_by_server=closed,
        )
    finally:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            ws.close(timeout=0.5)
