"""Stand-in for ghcr.io/jitsi/web: renders nginx's config and config.js into
/run/web/config on every start, the way upstream's templates do, then execs
Debian's nginx as the container user. No Jitsi Meet front end: / is a
placeholder page; /config.js, /http-bind and /xmpp-websocket are real.
"""

import os
import shutil
import subprocess
import sys

RUN = "/run/web"
CONF = f"{RUN}/config"


def env(name, default=""):
    value = os.environ.get(name, "")
    return value if value != "" else default


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def fatal(message):
    print(f"FATAL ERROR: {message}", flush=True)
    sys.exit(1)


def writable(path):
    probe = os.path.join(path, ".write-test")
    try:
        with open(probe, "w"):
            pass
        os.unlink(probe)
        return True
    except OSError:
        return False


def tls_keys():
    """Self-signed keys in /storage/keys unless the operator put some in /config/keys."""
    if not os.path.isdir("/storage"):
        fatal("required directory /storage (${CONFIG}/storage/web) is missing")
    if not writable("/storage"):
        fatal(
            "required directory /storage (${CONFIG}/storage/web) is not writable "
            f"by the container user (uid {os.getuid()})"
        )
    os.makedirs("/storage/keys", exist_ok=True)
    crt, key = "/storage/keys/cert.crt", "/storage/keys/cert.key"
    if os.path.isfile("/config/keys/cert.crt") and os.path.isfile("/config/keys/cert.key"):
        print("using keys found in /config/keys", flush=True)
        shutil.copy("/config/keys/cert.crt", crt)
        shutil.copy("/config/keys/cert.key", key)
    elif os.path.isfile(crt) and os.path.isfile(key):
        print("using persisted self-signed keys in storage/web/keys", flush=True)
    else:
        print("generating self-signed keys in storage/web/keys", flush=True)
        subprocess.run(
            [
                "openssl",
                "req",
                "-new",
                "-x509",
                "-days",
                "3650",
                "-nodes",
                "-out",
                crt,
                "-keyout",
                key,
                "-subj",
                "/C=US/ST=TX/L=Austin/O=jitsi.org/OU=Jitsi Server/CN=*",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return crt, key


def nginx_resolver():
    """Nameservers of /etc/resolv.conf, as upstream derives NGINX_RESOLVER."""
    ips = []
    with open("/etc/resolv.conf") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                ip = parts[1]
                ips.append(f"[{ip}]" if ip.count(":") >= 2 else ip)
    return " ".join(ips)


def config_js(e):
    """system-config.js of upstream, rendered; the SSI comments are left to nginx."""
    public_url = e["PUBLIC_URL"]
    # upstream: trimPrefix "https://" | trimSuffix "/" -- an http:// URL stays in
    public_url_domain = public_url.removeprefix("https://").removesuffix("/")
    domain = e["XMPP_DOMAIN"]
    muc = e["XMPP_MUC_DOMAIN"]
    subdomains = truthy(e["ENABLE_SUBDOMAINS"])
    out = [
        "// Jitsi Meet configuration.",
        "var config = {};",
        "",
        "if (!config.hasOwnProperty('hosts')) config.hosts = {};",
        "",
        f"config.hosts.domain = '{domain}';",
        f"config.focusUserJid = 'focus@{e['XMPP_AUTH_DOMAIN']}';",
        "",
    ]
    if subdomains:
        out += [
            'var subdir = \'<!--# echo var="subdir" default="" -->\';',
            'var subdomain = "<!--# echo var="subdomain" default="" -->";',
            "if (subdir.startsWith('<!--')) {",
            "    subdir = '';",
            "}",
            "if (subdomain) {",
            "    subdomain = subdomain.substring(0,subdomain.length-1)"
            ".split('.').join('_').toLowerCase() + '.';",
            "}",
            f"config.hosts.muc = '{muc.split('.')[0]}.' + subdomain + '{domain}';",
        ]
    else:
        out.append(f"config.hosts.muc = '{muc}';")
    out.append("")
    if truthy(e["ENABLE_AUTH"]):
        if truthy(e["ENABLE_GUESTS"]):
            out += [
                "// When using authentication, domain for guest users.",
                f"config.hosts.anonymousdomain = '{e['XMPP_GUEST_DOMAIN']}';",
            ]
        if truthy(e["ENABLE_AUTH_DOMAIN"]):
            out += [
                "// Domain for authenticated users. Defaults to <domain>.",
                f"config.hosts.authdomain = '{domain}';",
            ]
        out.append("")
    sub = " + subdir + " if subdomains else ""
    if truthy(e["BOSH_RELATIVE"]):
        out.append(
            f"config.bosh = '/'{sub}'http-bind';" if subdomains else "config.bosh = '/http-bind';"
        )
    else:
        out.append(
            f"config.bosh = '{public_url}/'{sub}'http-bind';"
            if subdomains
            else f"config.bosh = '{public_url}/http-bind';"
        )
    out.append("")
    if truthy(e["ENABLE_XMPP_WEBSOCKET"]):
        out.append(
            f"config.websocket = 'wss://{public_url_domain}/'{sub}'xmpp-websocket';"
            if subdomains
            else f"config.websocket = 'wss://{public_url_domain}/xmpp-websocket';"
        )
    return "\n".join(out) + "\n"


def meet_conf(e):
    base = e["XMPP_BOSH_URL_BASE"]
    domain = e["XMPP_DOMAIN"]
    conf = f"""server_name _;
charset utf8;
client_max_body_size 0;
root /usr/share/jitsi-meet;

# ssi on with javascript for multidomain variables in config.js
ssi on;
ssi_types application/x-javascript application/javascript;

index index.html index.htm;
add_header X-Content-Type-Options nosniff;
set $prefix "";

# As upstream (docker-jitsi-meet 738058b4 web/rootfs/defaults/meet.conf:44): the operator's
# nginx-custom/*.conf (from /config, copied to {CONF}) inside the server block, after the
# security headers, before the locations (jitsi-stack's frame-ancestors header is one).
include {CONF}/nginx-custom/*.conf;

location = /config.js {{
    alias {CONF}/config.js;
}}

location = /external_api.js {{
    alias /usr/share/jitsi-meet/libs/external_api.min.js;
}}

location ~ ^/(libs)/(.*)$ {{
    alias /usr/share/jitsi-meet/$1/$2;
}}

location = /interface_config.js {{
    alias {CONF}/interface_config.js;
}}

# BOSH
location = /http-bind {{
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header Host {domain};
    proxy_pass {base}/http-bind?prefix=$prefix&$args;
}}
"""
    if truthy(e["ENABLE_XMPP_WEBSOCKET"]):
        conf += f"""
# xmpp websockets
location = /xmpp-websocket {{
    tcp_nodelay on;
    proxy_http_version 1.1;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Host {domain};
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_pass {base}/xmpp-websocket?prefix=$prefix&$args;
}}
"""
    conf += """
location ~ ^/([^/?&:'"]+)$ {
    try_files $uri @root_path;
}

location @root_path {
    rewrite ^/(.*)$ / break;
}
"""
    if truthy(e["ENABLE_SUBDOMAINS"]):
        conf += f"""
location ~ ^/([^/?&:'"]+)/config.js$ {{
    set $subdomain "$1.";
    set $subdir "$1/";
    alias {CONF}/config.js;
}}

location ~ ^/([^/?&:'"]+)/http-bind {{
    set $subdomain "$1.";
    set $subdir "$1/";
    set $prefix "$1";
    rewrite ^/(.*)$ /http-bind;
}}
"""
        if truthy(e["ENABLE_XMPP_WEBSOCKET"]):
            conf += """
location ~ ^/([^/?&:'"]+)/xmpp-websocket {
    set $subdomain "$1.";
    set $subdir "$1/";
    set $prefix "$1";
    rewrite ^/(.*)$ /xmpp-websocket;
}
"""
        conf += """
location ~ ^/([^/?&:'"]+)/(.*)$ {
    set $subdomain "$1.";
    set $subdir "$1/";
    rewrite ^/([^/?&:'"]+)/(.*)$ /$2;
}
"""
    custom = f"{CONF}/nginx/custom-meet.conf"
    if os.path.isfile(custom):
        with open(custom) as fh:
            conf += fh.read()
    return conf


def nginx_conf(e, keys):
    # As upstream's web/rootfs/defaults/nginx.conf (docker-jitsi-meet 738058b4): workers
    # NGINX_WORKER_PROCESSES (default 4, line 1), connections and keep-alive (6, 19), and
    # `resolver NGINX_RESOLVER` (28-29). Each worker keeps its own DNS cache.
    ipv6 = truthy(e["ENABLE_IPV6"])
    resolver = env("NGINX_RESOLVER") or nginx_resolver()
    plain_body = (
        "return 301 https://$host$request_uri;"
        if truthy(e["ENABLE_HTTP_REDIRECT"])
        else f"include {CONF}/nginx/meet.conf;"
    )
    servers = f"""
    server {{
        listen 8000 default_server;
        {"listen [::]:8000 default_server;" if ipv6 else ""}
        {plain_body}
    }}
"""
    if keys:
        servers += f"""
    server {{
        listen 8443 ssl http2;
        {"listen [::]:8443 ssl http2;" if ipv6 else ""}
        ssl_certificate {keys[0]};
        ssl_certificate_key {keys[1]};
        ssl_protocols TLSv1.2 TLSv1.3;
        include {CONF}/nginx/meet.conf;
    }}
"""
    tmp = f"{RUN}/tmp"
    return f"""# rendered by the jitsi-stack test bed on every start
worker_processes {env("NGINX_WORKER_PROCESSES") or "4"};
pid {RUN}/nginx.pid;
error_log /dev/stderr;
daemon off;

events {{
    worker_connections {env("NGINX_WORKER_CONNECTIONS") or "768"};
}}

http {{
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout {env("NGINX_KEEPALIVE_TIMEOUT") or "65"};
    types_hash_max_size 2048;
    server_tokens off;
    client_max_body_size 0;
    {"resolver " + resolver + ";" if resolver else ""}
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
{servers}
}}
"""


def main():
    e = {
        name: env(name, default)
        for name, default in {
            "PUBLIC_URL": "https://localhost:8443",
            "XMPP_DOMAIN": "meet.jitsi",
            "XMPP_AUTH_DOMAIN": "auth.meet.jitsi",
            "XMPP_MUC_DOMAIN": "muc.meet.jitsi",
            "XMPP_GUEST_DOMAIN": "guest.meet.jitsi",
            "XMPP_BOSH_URL_BASE": "http://xmpp.meet.jitsi:5280",
            "ENABLE_XMPP_WEBSOCKET": "1",
            "ENABLE_AUTH": "0",
            "ENABLE_GUESTS": "0",
            "ENABLE_AUTH_DOMAIN": "1",
            "ENABLE_SUBDOMAINS": "1",
            "ENABLE_IPV6": "1",
            "ENABLE_HTTP_REDIRECT": "0",
            "BOSH_RELATIVE": "0",
            "DISABLE_HTTPS": "0",
        }.items()
    }

    os.makedirs(f"{CONF}/nginx", exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(f"{RUN}/tmp/{sub}", exist_ok=True)
    if os.path.isdir("/config"):
        shutil.copytree("/config", CONF, dirs_exist_ok=True)

    keys = None if truthy(e["DISABLE_HTTPS"]) else tls_keys()

    with open(f"{CONF}/nginx/meet.conf", "w") as fh:
        fh.write(meet_conf(e))
    with open(f"{CONF}/nginx/nginx.conf", "w") as fh:
        fh.write(nginx_conf(e, keys))

    js = config_js(e)
    custom = f"{CONF}/custom-config.js"
    if os.path.isfile(custom):
        with open(custom) as fh:
            js += fh.read()
    with open(f"{CONF}/config.js", "w") as fh:
        fh.write(js)

    iface = "var interfaceConfig = {};\n"
    custom = f"{CONF}/custom-interface_config.js"
    if os.path.isfile(custom):
        with open(custom) as fh:
            iface += fh.read()
    with open(f"{CONF}/interface_config.js", "w") as fh:
        fh.write(iface)

    sys.stdout.flush()
    os.execvp("nginx", ["nginx", "-e", "/dev/stderr", "-c", f"{CONF}/nginx/nginx.conf"])  # noqa: S606


if __name__ == "__main__":
    main()
