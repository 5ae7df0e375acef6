"""Stand-in for ghcr.io/jitsi/jicofo: logs in to prosody as focus, sits in
the bridge brewery room, and answers jicofo's REST API on 8888.

Semantics copied from jicofo:
- the REST server binds 127.0.0.1 unless JICOFO_ENABLE_REST is true;
- /about/health exists only with JICOFO_ENABLE_HEALTH_CHECKS, and fails
  while focus is not logged in or no bridge is in the brewery;
- POST /conference-request/v1 takes only Content-Type application/json
  (415 otherwise, like jicofo's JAX-RS resource) and answers ready=true once focus could join the
  room (jicofo does not look at bridges there); with ENABLE_AUTH an
  unauthenticated HTTP request for a new room is refused with 403.
  Unlike jicofo, the stand-in leaves the room at once.
- GET /stats (always routed, like jicofo's) reports the bridge selector's counts
  (bridge_selector.bridge_count / operational_bridge_count): the bridges in the brewery.
"""

import json

from xmpp_standin import BreweryClient, env, fatal, serve_http, setup_logging, truthy

VERSION = "1.0-testbed"


def main():
    log = setup_logging("Jicofo")
    password = env("JICOFO_AUTH_PASSWORD")
    if not password:
        fatal("Jicofo auth password must be set")
    auth_domain = env("XMPP_AUTH_DOMAIN", "auth.meet.jitsi")
    server = env("XMPP_SERVER", "xmpp.meet.jitsi")
    port = int(env("XMPP_PORT", "5222"))
    brewery = env("JVB_BREWERY_MUC", "jvbbrewery")
    internal_muc = env("XMPP_INTERNAL_MUC_DOMAIN", "internal-muc.meet.jitsi")
    health_enabled = truthy(env("JICOFO_ENABLE_HEALTH_CHECKS", "0"))
    rest_host = "0.0.0.0" if truthy(env("JICOFO_ENABLE_REST", "0")) else "127.0.0.1"  # noqa: S104
    auth_enabled = truthy(env("ENABLE_AUTH", "0"))
    focus_jid = f"focus@{auth_domain}"

    xmpp = BreweryClient(
        log, focus_jid, password, server, port, f"{brewery}@{internal_muc}", "focus"
    )

    def health(_http):
        if not xmpp.logged_in:
            return 500, "text/plain", f"XMPP not connected: {xmpp.last_error}\n"
        if not xmpp.occupants:
            return 500, "text/plain", "No operational bridges available\n"
        return 200, "text/plain", ""

    def stats(_http):
        bridges = len(xmpp.occupants) if xmpp.logged_in else 0
        return (
            200,
            "application/json",
            {
                "bridge_selector": {
                    "bridge_count": bridges,
                    "operational_bridge_count": bridges,
                    "in_shutdown_bridge_count": 0,
                },
                "conferences": 0,
                "participants": 0,
            },
        )

    def version(_http):
        return 200, "application/json", {"name": "Jicofo", "version": VERSION, "os": "Linux"}

    async def join_and_leave(room):
        muc = xmpp.client.plugin["xep_0045"]
        await muc.join_muc_wait(room, "focus", maxstanzas=0, timeout=5)
        muc.leave_muc(room, "focus")

    def conference_request(http):
        # a JAX-RS resource that @Consumes(APPLICATION_JSON)
        ctype = (http.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return 415, "text/plain", "Unsupported Media Type\n"
        try:
            request = json.loads(http.body or b"{}")
            if not isinstance(request, dict) or not request.get("room"):
                raise ValueError("No 'room' specified.")
            room = str(request["room"])
            local, _, domain = room.partition("@")
            if not local or not domain:
                raise ValueError(f"Invalid room name: {room}")
        except ValueError as exc:
            return 400, "text/plain", f"{exc}\n"
        log.info("Conference request for room %s, from None", room)
        if auth_enabled:
            return 403, "text/plain", ""
        if not xmpp.logged_in:
            return 400, "text/plain", f"XMPP not connected: {xmpp.last_error}\n"
        try:
            xmpp.call(join_and_leave(room))
        except Exception as exc:  # noqa: BLE001 - report any failure to the caller
            log.warning("could not join %s: %r", room, exc)
            return (
                200,
                "application/json",
                {
                    "room": room,
                    "ready": False,
                    "focusJid": focus_jid,
                    "vnode": None,
                    "properties": {"authentication": "false"},
                },
            )
        return (
            200,
            "application/json",
            {
                "room": room,
                "ready": True,
                "focusJid": focus_jid,
                "vnode": None,
                "properties": {"authentication": "false"},
            },
        )

    routes = {
        ("GET", "/about/version"): version,
        ("GET", "/stats"): stats,
        ("POST", "/conference-request/v1"): conference_request,
    }
    if health_enabled:
        routes[("GET", "/about/health")] = health
    serve_http(log, rest_host, 8888, routes)
    xmpp.run_forever()


if __name__ == "__main__":
    main()
