"""What the platform's frontend needs to embed meetings, and who may frame them.

Facts this follows (read at the cited versions):
- @jitsi/react-sdk loads `https://${domain}/external_api.js`, always https
  (jitsi/jitsi-meet-react-sdk 2ed0c08e src/init.ts, initExternalApi: `script.src`).
- jitsi-meet's IFrame API builds the iframe as `https://${domain}/#jitsi_meet_external_api_id=N`
  (jitsi/jitsi-meet modules/API/external/external_api.js, generateURL; the `noSSL` option of
  older versions, e.g. 015655b9, is gone) and its Transport accepts messages only from
  `new URL(this._url).origin` (postisOptions.allowedOrigin). So the SDK's domain must be the
  host:port of an https endpoint.
- The web image sends a Content-Security-Policy only from CSP_HEADER and includes
  /run/web/config/nginx-custom/*.conf inside its server block, /config being copied to
  /run/web/config (docker-jitsi-meet 738058b4 web/rootfs/defaults/meet.conf lines 31-33 and
  44; web/rootfs/etc/s6-overlay/scripts/config line 7): our frame-ancestors header is a file
  there, jitsi-meet/web/nginx-custom/frame-ancestors.conf.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..settings.layers import Settings
from ..settings.rules.frontend import dev_https
from ..store import devca, paths
from ..validators import is_loopback_host

__all__ = ["CSP_FILE", "DEV_ORIGINS", "Frontend", "dev_https", "frontend_of"]

CSP_FILE = f"{paths.CONFIG_DIR}/web/nginx-custom/frame-ancestors.conf"

# Development: any port of the loopback names, where Next.js (3000), Vite (5173) and the
# like serve the frontend; a CSP3 host-source port may be * (it still names the scheme).
DEV_ORIGINS = (
    "http://localhost:*",
    "https://localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
)

ENV_PREFIX = {"next": "NEXT_PUBLIC_", "vite": "VITE_", "plain": ""}


@dataclass(frozen=True)
class Frontend:
    development: bool  # public_url names this machine (localhost, a loopback address)
    dev_https: bool  # https served with the development CA's certificate (ports.https)
    https_url: str  # the https endpoint a browser embeds; '' when the stack has none
    domain: str  # host[:port] the SDK and the IFrame API take (https is implied)
    frame_ancestors: tuple[str, ...]  # CSP sources, 'self' first
    origins_default: bool  # frontend.origins was left empty
    names: str  # frontend.env_names
    token_url: str  # where the frontend gets tokens (JWT only), '' otherwise
    cert_hosts: tuple[str, ...]  # the development certificate's names

    @property
    def csp(self) -> str:
        return "frame-ancestors " + " ".join(self.frame_ancestors)

    def env_lines(self, plain_domain: str, plain_url: str) -> dict[str, str]:
        """The frontend env file's managed lines, in order: name -> value. Without an https
        endpoint, the plain one (and `inv config` warns: the SDK will ask for https)."""
        prefix = ENV_PREFIX[self.names]
        lines = {
            f"{prefix}JITSI_DOMAIN": self.domain or plain_domain,
            f"{prefix}JITSI_URL": self.https_url or plain_url,
        }
        if self.token_url:
            lines[f"{prefix}JITSI_TOKEN_URL"] = self.token_url
        return lines


def frontend_of(s: Settings, jwt: bool) -> Frontend:
    parts = urlsplit(s["public_url"].rstrip("/"))
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    development = is_loopback_host(host)
    dev = dev_https(s)
    if parts.scheme == "https":
        https_url = s["public_url"].rstrip("/")
        port = parts.port or 443
        domain = shown if port == 443 else f"{shown}:{port}"
    elif dev or s["https.enabled"]:
        port = s["ports.https"]
        domain = shown if port == 443 else f"{shown}:{port}"
        https_url = f"https://{domain}"
    else:
        https_url, domain = "", ""
    origins = tuple(s["frontend.origins"])
    if not origins and development:
        origins = DEV_ORIGINS
    return Frontend(
        development=development,
        dev_https=dev,
        https_url=https_url,
        domain=domain,
        frame_ancestors=("'self'", *origins),
        origins_default=not s["frontend.origins"],
        names=s["frontend.env_names"],
        token_url=s["frontend.token_url"] if jwt else "",
        cert_hosts=devca.hosts_for(host),
    )
