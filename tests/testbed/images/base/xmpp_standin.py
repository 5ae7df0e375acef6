"""Shared parts of the jicofo and jvb stand-ins: environment with upstream
defaults, an XMPP login loop that joins the bridge brewery room, and a tiny
HTTP server for the /about/* endpoints.

Presence subscription requests are answered like Smack's roster does:
jicofo sets SubscriptionMode.accept_all (that is how prosody's client_proxy
component focus.<XMPP_DOMAIN> gets focus's presence), jvb keeps Smack's
default reject_all. Neither subscribes back.

The XMPP side is real (slixmpp against the real prosody): a wrong password
fails with the server's SASL condition, and brewery membership is what
prosody reports.
"""

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logging.getLogger("slixmpp").setLevel(logging.ERROR)  # before its import-time warning
import slixmpp  # noqa: E402

RETRY_SECONDS = 5


def env(name, default=""):
    """An upstream variable; empty counts as unset, as in upstream's templates."""
    value = os.environ.get(name, "")
    return value if value != "" else default


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def setup_logging(prefix):
    # PID 1 ignores SIGTERM unless it has a handler: stop at once, like s6 would
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.INFO,
        format=f"{prefix} %(asctime)s %(levelname)s: %(message)s",
    )
    logging.getLogger("slixmpp").setLevel(logging.ERROR)
    return logging.getLogger(prefix.lower())


def fatal(message):
    print(f"FATAL ERROR: {message}", flush=True)
    sys.exit(1)


class BreweryClient:
    """Logs in, joins the brewery MUC, tracks who is in it; retries forever.

    accept_subscriptions: authorize every presence subscription request
    (Smack's accept_all) instead of refusing it (reject_all).
    on_client: callables run with each new slixmpp client before it connects
    (to register more handlers).
    """

    def __init__(self, log, jid, password, server, port, room, nick, *, accept_subscriptions=False):
        self.log = log
        self.jid, self.password = jid, password
        self.server, self.port = server, port
        self.room, self.nick = room, nick
        self.accept_subscriptions = accept_subscriptions
        self.on_client = []
        self.loop = None
        self.client = None
        self.logged_in = False
        self.joined = False
        self.occupants = set()  # nicks in the brewery other than ours
        self.last_error = "not connected yet"

    def run_forever(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._login_loop())

    async def _login_loop(self):
        while True:
            await self._attempt()
            self.logged_in = self.joined = False
            self.occupants.clear()
            await asyncio.sleep(RETRY_SECONDS)

    async def _attempt(self):
        done = self.loop.create_future()

        def finish(reason):
            if not done.done():
                done.set_result(reason)

        client = slixmpp.ClientXMPP(self.jid, self.password)
        client.register_plugin("xep_0045")
        client.register_plugin("xep_0199")  # answer pings
        client.auto_authorize = self.accept_subscriptions
        client.auto_subscribe = False
        self.client = client
        for setup in self.on_client:
            setup(client)

        def on_session_start(_event):
            self.logged_in = True
            self.last_error = ""
            self.log.info("logged in to %s:%s as %s", self.server, self.port, self.jid)
            client.send_presence()
            client.plugin["xep_0045"].join_muc(self.room, self.nick)

        def on_failed_auth(stanza):
            condition = stanza["condition"] if hasattr(stanza, "get") else str(stanza)
            self.last_error = f"SASL {condition}"
            self.log.error("XMPP login as %s failed: SASL %s", self.jid, condition)

        def on_presence(presence):
            frm = presence["from"]
            if frm.bare != self.room:
                return
            if presence["type"] == "error":
                if self.last_error.startswith("brewery join error"):
                    return
                self.last_error = f"brewery join error: {presence['error']['condition']}"
                self.log.error("cannot join %s: %s", self.room, presence["error"]["condition"])
                return
            nick = frm.resource
            gone = presence["type"] == "unavailable"
            if nick == self.nick:
                if self.joined != (not gone):
                    self.log.info("%s brewery %s", "left" if gone else "joined", self.room)
                self.joined = not gone
            elif gone:
                self.occupants.discard(nick)
                self.log.info("%s left the brewery", nick)
            elif nick not in self.occupants:
                self.occupants.add(nick)
                self.log.info("%s is in the brewery", nick)

        def on_connection_failed(error):
            self.last_error = f"cannot connect to {self.server}:{self.port}: {error}"
            self.log.error("%s", self.last_error)
            finish("connection failed")

        client.add_event_handler("session_start", on_session_start)
        client.add_event_handler("failed_auth", on_failed_auth)
        client.add_event_handler("failed_all_auth", lambda _e: client.disconnect())
        # the first MUC presence comes as "presence", later ones only as
        # "groupchat_presence"; on_presence is idempotent
        client.add_event_handler("presence", on_presence)
        client.add_event_handler("groupchat_presence", on_presence)
        client.add_event_handler("connection_failed", on_connection_failed)
        client.add_event_handler("disconnected", lambda _e: finish("disconnected"))

        client.connect(
            address=(self.server, self.port), disable_starttls=True, force_starttls=False
        )
        reason = await done
        client.abort()
        if self.logged_in:
            self.log.warning("XMPP connection lost (%s); logging in again", reason)
            self.last_error = "XMPP connection lost"

    def call(self, coro, timeout=10):
        """Run a coroutine on the XMPP loop from an HTTP thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def serve_http(log, host, port, routes):
    """routes: {(method, path): handler(request) -> (status, content_type, body)}

    request.body is the request body (bytes), request.headers its headers.
    """

    class Handler(BaseHTTPRequestHandler):
        server_version = "Jetty"  # both bridge and focus run their REST API on Jetty

        def _dispatch(self, method):
            path = self.path.split("?", 1)[0]
            handler = routes.get((method, path))
            if handler is None:
                status, ctype, body = 404, "text/plain", "Not Found\n"
            else:
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length) if length else b""
                status, ctype, body = handler(self)
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._dispatch("GET")

        def do_POST(self):  # noqa: N802
            self._dispatch("POST")

        def log_message(self, fmt, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("HTTP API on %s:%s", host, port)
    return server


def hostname():
    return socket.gethostname()
