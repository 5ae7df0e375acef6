"""A minimal XMPP client for the smoke checks: BOSH (XEP-0124/0206) and RFC 7395 websocket.

A probe does only what a browser guest does to reach a room: open a session, log in with
SASL ANONYMOUS, bind a resource, ask the focus for the room (the conference request that
jitsi-meet sends to ``focus.<domain>``), join the MUC, leave and terminate. Anonymous
sessions create no account and the room disappears with its last occupant, so a probe leaves
nothing behind.

Everything is bounded by a :class:`Deadline`; errors are :class:`ProbeError` subclasses with
a one-line message, the step that failed (``stage``) and, where XMPP gives one, the
``condition``. Transport errors (connection refused, TLS, DNS) propagate unchanged from
requests / websocket-client so the caller can explain them.
"""

from __future__ import annotations

from .bosh import BoshClient, ConferenceAnswer, conference_request_payload, open_rooms
from .core import (
    Deadline,
    HttpStatusError,
    NotXmppError,
    ProbeError,
    ProbeTimeout,
    SaslError,
    StanzaError,
    StreamError,
    parse_xml,
)
from .websocket import WebSocketAnswer, websocket_probe

__all__ = [
    "BoshClient",
    "ConferenceAnswer",
    "Deadline",
    "HttpStatusError",
    "NotXmppError",
    "ProbeError",
    "ProbeTimeout",
    "SaslError",
    "StanzaError",
    "StreamError",
    "WebSocketAnswer",
    "conference_request_payload",
    "open_rooms",
    "parse_xml",
    "websocket_probe",
]
