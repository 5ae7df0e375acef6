"""What `inv smoke` checks: built from the settings, or from --url for another deployment."""

from __future__ import annotations

from urllib.parse import urlsplit

from . import compose, model
from .settings import Settings
from .smoke import SmokeTarget

LOCAL = {"localhost", "127.0.0.1", "::1"}


def build(s: Settings, url: str | None = None, timeout: float = 10.0) -> SmokeTarget:
    public = (url or s["public_url"]).rstrip("/")
    local = urlsplit(public).hostname in LOCAL or url is None
    d = model.domains(s)
    if s["auth.enabled"]:
        anonymous = d["XMPP_GUEST_DOMAIN"] if s["auth.guests"] else None
    else:
        anonymous = d["XMPP_DOMAIN"]
    return SmokeTarget(
        public_url=public,
        xmpp_domain=d["XMPP_DOMAIN"],
        muc_domain=d["XMPP_MUC_DOMAIN"],
        anonymous_domain=anonymous,
        websocket_enabled=s["env"].get("ENABLE_XMPP_WEBSOCKET", True)
        not in (False, 0, "0", "false"),
        jicofo_url=f"http://127.0.0.1:{s['ports.jicofo_rest']}" if local else None,
        jvb_url=f"http://127.0.0.1:{s['ports.jvb_colibri']}" if local else None,
        jvb_udp_port=s["ports.jvb_media"],
        advertise_ips=tuple(s["jvb.advertise_ips"]),
        compose_argv=tuple(compose.argv(s)) if local else None,
        prosody_service="jitsi-prosody",
        jvb_service="jitsi-jvb",
        timeout=timeout,
    )
