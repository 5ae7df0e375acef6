"""TURN checks with aioice: allocate a relay on a TURN server and relay a datagram
to an echo peer and back; and the TURN REST credentials prosody hands out."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ssl as ssl_module


def rest_password(secret: str, username: str) -> str:
    """coturn's use-auth-secret password: base64(HMAC-SHA1(secret, username))."""
    return base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


class _Echo(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue = asyncio.Queue()

    def datagram_received(self, data, addr) -> None:
        self.received.put_nowait((data, addr))


async def _relay(server, username, password, transport, ssl, peer, payload, timeout):
    from aioice import turn  # only the relay needs aioice

    relay, echo = await asyncio.wait_for(
        turn.create_turn_endpoint(
            _Echo, server, username, password, lifetime=60, ssl=ssl, transport=transport
        ),
        timeout,
    )
    try:
        relayed = relay.get_extra_info("sockname")
        relay.sendto(payload, peer)
        data, addr = await asyncio.wait_for(echo.received.get(), timeout)
        return relayed, data, addr
    finally:
        relay.close()


def relay_echo(
    server: tuple[str, int],
    username: str,
    password: str,
    *,
    transport: str = "udp",
    cafile: str | None = None,
    peer: tuple[str, int],
    payload: bytes = b"ping",
    timeout: float = 10,
) -> tuple[tuple[str, int], bytes, tuple[str, int]]:
    """Allocate over udp, tcp or (cafile given) TLS, send payload to peer through the
    relay; returns (relayed address, what came back, from where). Raises
    aioice.stun.TransactionFailed when the server refuses the allocation."""
    ssl = ssl_module.create_default_context(cafile=cafile) if cafile else None
    return asyncio.run(_relay(server, username, password, transport, ssl, peer, payload, timeout))
