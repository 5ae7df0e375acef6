"""Bad input, as a hostile, careless or unlucky operator gives it: settings files,
environment overrides, file-system conditions and damaged state files.

Each case runs one command on a project that was rendered fine before, and must give
exactly one error line (naming the setting or file and the fix), the exit code (2 for
input, 1 for a file the tool cannot trust), no secret in any output, and not one change
under the root (content, mode, owner, link target). No traceback, no hang.
"""
# ruff: noqa: E501 - the cases read best one per line

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.project import FIXED_SECRETS, run_cli, tree_snapshot, write_settings

SECRET = "Sup3r-S3cret-Value-4711"  # an operator-given secret that must never be printed


@dataclass(frozen=True)
class Case:
    id: str
    settings: str | None = None  # jitsi-stack.yml text (None: leave the good one)
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # file-system or state damage
    argv: tuple[str, ...] = ("render",)
    code: int = 2
    line: str = ""


def _write(rel: str, data: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.is_file():
            path.unlink()
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)

    return setup


def _link(rel: str, target: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
        path.symlink_to(target)

    return setup


def _fifo(root: Path) -> None:
    (root / "jitsi-stack.yml").unlink()
    os.mkfifo(root / "jitsi-stack.yml")


def _dir_settings(root: Path) -> None:
    (root / "jitsi-stack.yml").unlink()
    (root / "jitsi-stack.yml").mkdir()


def _outside_link(rel: str) -> Callable[[Path], None]:
    """Replace a managed directory by a link to a directory outside the project."""

    def setup(root: Path) -> None:
        import shutil

        outside = root.parent / "outside"
        outside.mkdir(exist_ok=True)
        shutil.rmtree(root / rel)
        (root / rel).symlink_to(outside, target_is_directory=True)

    return setup


JWT = "auth: {{enabled: true, type: jwt, guests: false, jwt: {{app_id: cc, app_secret: {}}}}}\n"
SIP = "services: {{jigasi: true}}\nsip: {{uri: a@sip.example.com, server: sip.example.com, password: {}}}\n"

CASES = [
    # -- keys -------------------------------------------------------------------------
    Case("unknown-key", "public_ur1: http://localhost:8443\n"),
    Case("unknown-nested", "ports:\n  htp: 80\n"),
    Case("unknown-section", "portz: {http: 80}\n"),
    Case("unknown-deep", "auth: {jwt: {app_key: x}}\n"),
    Case("upstream-at-top", "DOCKER_HOST_ADDRESS: 1.2.3.4\n"),
    Case("managed-at-top", "ENABLE_AUTH: true\n"),
    Case("passthrough-at-top", "ENABLE_BREAKOUT_ROOMS: false\n"),
    Case("section-as-scalar", "auth: true\n"),
    Case("section-as-list", "ports: [80, 443]\n"),
    Case("section-as-text", "https: on please\n"),
    Case("nested-section-scalar", "https: {letsencrypt: yes}\n"),
    Case("number-key", "42: x\n"),
    Case("env-not-mapping", "env: [A, B]\n"),
    Case("env-text", "env: ENABLE_LOBBY=false\n"),
    # -- YAML itself ----------------------------------------------------------------
    Case("yaml-syntax", "ports: [http: 1\n"),
    Case("yaml-tab", "ports:\n\thttp: 80\n"),
    Case("yaml-top-list", "- a\n- b\n"),
    Case("yaml-top-scalar", "just text\n"),
    Case("duplicate-section", "auth: {enabled: true, type: internal}\nauth: {guests: false}\n"),
    Case("duplicate-key", "ports:\n  http: 8443\n  http: 9443\n"),
    Case("duplicate-env", "env:\n  ENABLE_LOBBY: true\n  ENABLE_LOBBY: false\n"),
    Case("alias", "x: &a 1\nports: {http: *a}\n"),
    Case(
        "alias-bomb",
        "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nenv: {X: *b}\n",
    ),
    Case("merge-key", "base: &b {http: 8443}\nports: {<<: *b}\n"),
    Case("python-tag", "public_url: !!python/object/apply:os.system [true]\n"),
    Case("binary-tag", "timezone: !!binary aGVsbG8=\n"),
    # -- types --------------------------------------------------------------------
    Case("bool-text", "auth:\n  guests: sometimes\n"),
    Case("bool-number", "https: {enabled: 1}\n"),
    Case("port-text", "ports:\n  http: eighty\n"),
    Case("port-float", "ports: {http: 8443.5}\n"),
    Case("port-bool", "ports: {http: true}\n"),
    Case("port-zero", "ports: {http: 0}\n"),
    Case("port-range", "ports:\n  jvb_media: 70000\n"),
    Case("port-negative", "ports: {jvb_colibri: -1}\n"),
    Case("int-zero", "health: {timeout: 0}\n"),
    Case("int-text", "health: {interval: soon}\n"),
    Case("list-scalar", "jvb: {advertise_ips: 203.0.113.10}\n"),
    Case("list-of-numbers", "compose: {extra_files: [1, 2]}\n"),
    Case("text-list", "timezone: [UTC]\n"),
    Case("text-mapping", "public_url: {host: x}\n"),
    Case("text-null", "public_url:\n"),
    Case("choice", "restart_policy: sometimes\n"),
    Case("choice-case", "auth: {enabled: true, type: JWT}\n"),
    Case("choice-typo", "sip: {transport: TPC}\n"),
    # -- control characters ----------------------------------------------------------------
    Case("newline", 'timezone: "UTC\\nEurope/Berlin"\n'),
    Case("carriage-return", 'container_prefix: "cc\\r"\n'),
    Case("nul", 'xmpp: {domain: "meet\\0jitsi"}\n'),
    Case("escape", 'public_url: "http://localhost:8443\\e[31m"\n'),
    Case("nul-in-secret", JWT.format('"abc\\0' + SECRET + '"')),
    Case("cr-in-list", 'jvb: {advertise_ips: ["203.0.113.10\\r"]}\n'),
    # -- secrets of the wrong type: never printed ------------------------------------------
    Case("secret-number", SIP.format("1234567890123")),
    Case("secret-hex", JWT.format("0x4711abcdef")),
    Case("secret-list", JWT.format("[" + SECRET + "]")),
    Case("secret-date", JWT.format("2026-11-30")),
    Case("secret-mapping", "auth: {ldap: {bindpw: {x: " + SECRET + "}}}\n"),
    Case("secret-bool", "sip: {password: yes}\n"),
    # -- names ---------------------------------------------------------------------------
    Case("project-upper", "project_name: CallCenter\n"),
    Case("project-space", "project_name: call center\n"),
    Case("prefix-slash", "container_prefix: a/b\n"),
    Case("network-dash", "network: {name: -net}\n"),
    Case("network-internal", "network: {name: callcenter-jitsi-internal}\n"),
    Case("bad-domain", "xmpp:\n  domain: -bad-.jitsi\n"),
    Case("domain-trailing-dot", "xmpp: {domain: meet.jitsi.}\n"),
    Case("domain-underscore", "xmpp: {domain: meet_jitsi}\n"),
    Case("repo-with-tag", "images: {repository: ghcr.io/jitsi:latest}\n"),
    Case("repo-upper", "images: {repository: GHCR.io/Jitsi}\n"),
    Case("floating-tag", "images:\n  tag: latest\n"),
    Case("unstable-tag", "images: {tag: unstable}\n"),
    Case("old-tag", "images: {tag: stable-10184}\n"),
    Case("tag-space", "images: {tag: 'stable 11146'}\n"),
    Case("etherpad-image", "images: {etherpad: 'etherpad etherpad'}\n"),
    Case("timezone-bogus", "timezone: Mars/Olympus\n"),
    Case("timezone-path", "timezone: ../../etc/passwd\n"),
    # -- the public URL ---------------------------------------------------------------
    Case("url-scheme", "public_url: ftp://meet.example.com\n"),
    Case("url-no-scheme", "public_url: meet.example.com\n"),
    Case("url-path", "public_url: https://meet.example.com/jitsi\n"),
    Case("url-query", "public_url: https://meet.example.com/?a=1\n"),
    Case("url-port", "public_url: http://localhost:99999\n"),
    Case("url-port-text", "public_url: http://localhost:abc\n"),
    Case("url-host", "public_url: https://meet_example!.com\n"),
    Case("url-user", "public_url: https://admin:" + SECRET + "@meet.example.com\n"),
    Case("url-ipv6-broken", "public_url: https://[2001:db8::1\n"),
    Case("url-ipv6-bad", "public_url: https://[2001:db8:::zz]\n"),
    Case("url-port-mismatch", "public_url: http://localhost:9999\n"),
    Case("https-localhost", "public_url: https://localhost:8444\n"),
    # -- ports ----------------------------------------------------------------------
    Case("port-clash", "ports:\n  jvb_colibri: 8888\n"),
    Case(
        "port-clash-https",
        "https: {enabled: true}\nports: {https: 8443}\npublic_url: https://meet.example.com\n",
    ),
    Case(
        "jigasi-range-swapped", SIP.format("pw") + "ports: {jigasi_min: 20050, jigasi_max: 20000}\n"
    ),
    Case("jigasi-range-media", SIP.format("pw") + "ports: {jvb_media: 20010}\n"),
    # -- HTTPS and Let's Encrypt -----------------------------------------------------------
    Case("redirect-without-https", "https: {http_redirect: true}\n"),
    Case(
        "le-without-https",
        "public_url: https://meet.example.com\nports: {http: 80, https: 443}\nhttps: {letsencrypt: {enabled: true, domain: meet.example.com, email: a@b.co}}\n",
    ),
    Case(
        "le-missing",
        "public_url: https://meet.example.com\nports: {http: 80, https: 443}\nhttps:\n  enabled: true\n  letsencrypt:\n    enabled: true\n    email: ops@example.com\n",
    ),
    Case(
        "le-domain-mismatch",
        "public_url: https://meet.example.com\nports: {http: 80, https: 443}\nhttps: {enabled: true, letsencrypt: {enabled: true, domain: other.example.com, email: a@b.co}}\n",
    ),
    Case(
        "le-email",
        "public_url: https://meet.example.com\nports: {http: 80, https: 443}\nhttps: {enabled: true, letsencrypt: {enabled: true, domain: meet.example.com, email: nobody}}\n",
    ),
    Case(
        "le-ports",
        "public_url: https://meet.example.com\nhttps:\n  enabled: true\n  letsencrypt: {enabled: true, domain: meet.example.com, email: ops@example.com}\n",
    ),
    # -- authentication -------------------------------------------------------------------
    Case("auth-type", "auth:\n  enabled: true\n  type: kerberos\n"),
    Case(
        "jwt-no-id",
        "auth:\n  enabled: true\n  type: jwt\n  guests: false\n  jwt:\n    app_secret: "
        + SECRET
        + "\n",
    ),
    Case(
        "jwt-algorithm",
        "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: cc, algorithm: RS256}}\n",
    ),
    Case("jwt-false", JWT.format("'false'")),
    Case("jwt-zero", JWT.format("'0'")),
    Case("jwt-quote", JWT.format("'a\"" + SECRET + "'")),
    Case("jwt-backslash", JWT.format("'a\\" + SECRET + "'")),
    Case(
        "jwt-issuer-quote",
        "auth: {enabled: true, type: jwt, guests: false, jwt: {app_id: cc, app_secret: "
        + SECRET
        + ", accepted_issuers: ['x\"y']}}\n",
    ),
    Case(
        "ldap-url",
        "auth:\n  enabled: true\n  type: ldap\n  ldap:\n    url: http://x\n    base: dc=x\n",
    ),
    Case(
        "ldap-no-base",
        "auth: {enabled: true, type: ldap, ldap: {url: 'ldaps://ldap.example.com'}}\n",
    ),
    Case("matrix-no-url", "auth: {enabled: true, type: matrix}\n"),
    Case(
        "matrix-token-backslash",
        "auth: {enabled: true, type: matrix, matrix: {uvs_url: 'https://u', uvs_auth_token: 'a\\b"
        + SECRET
        + "'}}\n",
    ),
    # -- services and features ------------------------------------------------------------
    Case("recording-no-jibri", "features:\n  recording: true\n"),
    Case("transcriptions-no-transcriber", "features: {transcriptions: true}\n"),
    Case("jibri-no-recording", "services: {jibri: true}\n"),
    Case("transcriber-no-flag", "services: {transcriber: true}\n"),
    Case(
        "sip-missing",
        "services:\n  jigasi: true\nsip:\n  password: pw\n  server: sip.example.com\n",
    ),
    Case(
        "sip-uri",
        "services: {jigasi: true}\nsip: {uri: agent, password: pw, server: sip.example.com}\n",
    ),
    Case("bad-ip", "jvb:\n  advertise_ips: [300.1.2.3]\n"),
    Case("ip-brackets", "jvb: {advertise_ips: ['[2001:db8::1]']}\n"),
    Case("ip-port-zero", "jvb: {advertise_ips: ['203.0.113.10#0']}\n"),
    Case("ip-hostname", "jvb: {advertise_ips: [meet.example.com]}\n"),
    # -- upstream variables under env: ---------------------------------------------------
    Case("removed-var", "env:\n  DOCKER_HOST_ADDRESS: 1.2.3.4\n"),
    Case("colibri-ws", "env:\n  ENABLE_COLIBRI_WEBSOCKET: 1\n"),
    Case("component-secret", "env:\n  JICOFO_COMPONENT_SECRET: " + SECRET + "\n"),
    Case("tcp-harvester", "env: {JVB_TCP_PORT: 4443}\n"),
    Case("misspelt-turn", "env: {TURN_CREDENTIAL: " + SECRET + "}\n"),
    Case("unknown-var", "env:\n  ENABLE_LOBY: 'false'\n"),
    Case("lower-var", "env: {enable_lobby: 'false'}\n"),
    Case("managed-var", "env:\n  PUBLIC_URL: https://x.example.com\n"),
    Case("managed-secret", "env: {JVB_AUTH_PASSWORD: " + SECRET + "}\n"),
    Case("derived-rest", "env: {JICOFO_ENABLE_REST: 0}\n"),
    Case("derived-bosh", "env: {XMPP_BOSH_URL_BASE: 'http://x:5280'}\n"),
    Case("env-domain-bad", "env: {XMPP_MUC_DOMAIN: 'conference meet'}\n"),
    Case("env-value-list", "env: {ENABLE_BREAKOUT_ROOMS: [true]}\n"),
    Case("env-value-null", "env: {ENABLE_BREAKOUT_ROOMS: }\n"),
    Case("env-value-newline", 'env: {DEFAULT_LANGUAGE: "de\\nX=1"}\n'),
    Case("env-value-nul", 'env: {DEFAULT_LANGUAGE: "de\\0"}\n'),
    Case("env-lua-quote", "env: {TURN_PASSWORD: 'p\"" + SECRET + "'}\n"),
    # -- the platform's files ------------------------------------------------------------
    Case("extra-file", "compose:\n  extra_files: [platform.yml]\n"),
    Case("frontend-dir-missing", "frontend: {env_file: nowhere/.env.local}\n"),
    Case("frontend-managed-secrets", "frontend: {env_file: .jitsi-stack/secrets.env}\n"),
    Case("frontend-managed-env", "frontend: {env_file: jitsi-meet/.env}\n"),
    Case("frontend-managed-settings", "frontend: {env_file: jitsi-stack.yml}\n"),
    Case("frontend-directory", "frontend: {env_file: jitsi-meet}\n"),
    Case(
        "frontend-link",
        "frontend: {env_file: front.env}\n",
        setup=_link("front.env", "/etc/hostname"),
    ),
    # -- who may frame meetings (frontend.origins) and the development CA (issue 22) --------
    Case("origin-path", "frontend: {origins: ['https://agents.example.com/app']}\n"),
    Case("origin-query", "frontend: {origins: ['https://agents.example.com?x=1']}\n"),
    Case("origin-star", "frontend: {origins: ['*']}\n"),
    Case("origin-mid-wildcard", "frontend: {origins: ['https://agents.*.example.com']}\n"),
    Case("origin-ip-wildcard", "frontend: {origins: ['https://*.10.0.0.1']}\n"),
    Case("origin-userinfo", "frontend: {origins: ['https://me@agents.example.com']}\n"),
    Case("origin-scheme", "frontend: {origins: ['ftp://agents.example.com']}\n"),
    Case("origin-no-scheme", "frontend: {origins: ['agents.example.com']}\n"),
    Case("origin-port", "frontend: {origins: ['https://agents.example.com:99999']}\n"),
    Case(
        "origin-duplicate",
        "frontend: {origins: ['https://agents.example.com', 'HTTPS://Agents.example.com:443']}\n",
    ),
    Case(
        "token-url-http",
        "frontend: {token_url: 'http://x.example.com/t'}\n",
    ),
    Case("token-url-newline", 'frontend: {token_url: "/t\\nX=1"}\n'),
    Case("env-names-unknown", "frontend: {env_names: nuxt}\n"),
    Case("dev-https-text", "frontend: {dev_https: 'yes'}\n"),
    Case("origins-not-a-list", "frontend: {origins: https://agents.example.com}\n"),
    Case(
        "dev-ca-damaged",
        setup=_write(".jitsi-stack/dev-ca/ca.crt", "not a certificate\n"),
        code=1,
    ),
    # -- environment ------------------------------------------------------------------------
    Case("env-override-unknown", "", env={"JITSI_STACK_PORTS__HTTPP": "1"}),
    Case("env-override-range", "", env={"JITSI_STACK_PORTS__HTTP": "0"}),
    Case("env-override-type", "", env={"JITSI_STACK_AUTH__ENABLED": "perhaps"}),
    Case("env-override-list", "", env={"JITSI_STACK_JVB__ADVERTISE_IPS": "[300.0.0.1]"}),
    Case("env-override-newline", "", env={"JITSI_STACK_TIMEZONE": "UTC\nX"}),
    Case("env-override-yaml", "", env={"JITSI_STACK_PORTS__HTTP": "[1"}),
    Case(
        "env-override-secret-type",
        "",
        env={
            "JITSI_STACK_AUTH__ENABLED": "true",
            "JITSI_STACK_AUTH__TYPE": "jwt",
            "JITSI_STACK_AUTH__GUESTS": "false",
            "JITSI_STACK_AUTH__JWT__APP_ID": "x",
            "JITSI_STACK_AUTH__JWT__APP_SECRET": 'a"' + SECRET,
        },
    ),
    Case("env-passthrough-unknown", "", env={"JITSI_STACK_ENV__ENABLE_LOBY": "0"}),
    Case("env-passthrough-managed", "", env={"JITSI_STACK_ENV__PUBLIC_URL": "https://x"}),
    Case("profile-missing", "", env={"JITSI_STACK_PROFILE": "production"}),
    Case("profile-slash", "", env={"JITSI_STACK_PROFILE": "../etc/x"}),
    Case("profile-empty-name", "", env={"JITSI_STACK_PROFILE": "-"}),
    Case("settings-env-missing", "", env={"JITSI_STACK_SETTINGS": "/nonexistent/jitsi.yml"}),
    Case("root-missing", "", env={"JITSI_STACK_ROOT": "/nonexistent/project"}),
    Case("root-is-file", "", env={"JITSI_STACK_ROOT": "/etc/hostname"}),
    # -- the settings file on disk ----------------------------------------------------------
    Case("settings-dangling-link", setup=_link("jitsi-stack.yml", "gone.yml")),
    Case("settings-looping-link", setup=_link("jitsi-stack.yml", "jitsi-stack.yml")),
    Case("settings-fifo", setup=_fifo),
    Case("settings-directory", setup=_dir_settings),
    Case(
        "settings-latin1",
        setup=_write("jitsi-stack.yml", "timezone: Europe/Z\xfcrich\n".encode("latin-1")),
    ),
    Case("settings-binary", setup=_write("jitsi-stack.yml", b"\x00\x01\x02\xff")),
    Case("settings-huge", setup=_write("jitsi-stack.yml", "# " + "x" * (1 << 20) + "\n")),
    Case("local-broken", setup=_write("jitsi-stack.local.yml", "ports: [\n")),
    Case("local-unknown", setup=_write("jitsi-stack.local.yml", "prots: {http: 1}\n")),
    # -- managed directories that are links: never written through ---------------------------
    Case("config-dir-link", setup=_outside_link("jitsi-meet"), code=1),
    Case("web-dir-link", setup=_outside_link("jitsi-meet/web"), code=1),
    Case("state-dir-link", setup=_outside_link(".jitsi-stack"), code=1),
    Case("backups-link", setup=_link("backups", "/tmp"), argv=("clean", "--all", "--yes"), code=1),
    # -- damaged state files ---------------------------------------------------------------
    Case("state-list", setup=_write(".jitsi-stack/state.json", "[]\n"), code=1),
    Case(
        "state-overrides-list",
        setup=_write(".jitsi-stack/state.json", '{"overrides": []}\n'),
        code=1,
    ),
    Case(
        "state-truncated",
        setup=_write(".jitsi-stack/state.json", '{"overrides": {"images.tag": {"val'),
        code=1,
    ),
    Case(
        "state-bad-tag",
        setup=_write(
            ".jitsi-stack/state.json",
            '{"overrides": {"images.tag": {"value": "a b", "over": "x"}}}\n',
        ),
        code=1,
    ),
    Case("state-unknown", setup=_write(".jitsi-stack/state.json", '{"hello": 1}\n'), code=1),
    Case("state-binary", setup=_write(".jitsi-stack/state.json", b"\xff\xfe\x00"), code=1),
    Case("state-status", setup=_write(".jitsi-stack/state.json", "[]\n"), argv=("status",), code=1),
    Case("state-config", setup=_write(".jitsi-stack/state.json", "{"), argv=("config",), code=1),
    Case("manifest-list", setup=_write(".jitsi-stack/manifest.json", "[]\n"), code=1),
    Case(
        "manifest-files-list", setup=_write(".jitsi-stack/manifest.json", '{"files": []}\n'), code=1
    ),
    Case(
        "manifest-bad-hash",
        setup=_write(".jitsi-stack/manifest.json", '{"files": {"docker-compose.yml": "abc"}}\n'),
        code=1,
    ),
    Case(
        "manifest-tree-escape",
        setup=_write(
            ".jitsi-stack/manifest.json", '{"files": {}, "inputs": "x", "tree": ["../etc"]}\n'
        ),
        code=1,
    ),
    Case("manifest-truncated", setup=_write(".jitsi-stack/manifest.json", '{"files": {'), code=1),
    Case("secrets-binary", setup=_write(".jitsi-stack/secrets.env", b"\xff\xfe\x00\x01"), code=1),
    Case(
        "secrets-bad-line",
        setup=_write(".jitsi-stack/secrets.env", "JVB_AUTH_PASSWORD=not hex\n"),
        code=1,
    ),
    Case(
        "secrets-unknown-name",
        setup=_write(".jitsi-stack/secrets.env", "MY_PASSWORD=" + "a" * 32 + "\n"),
        code=1,
    ),
    Case(
        "secrets-duplicate",
        setup=_write(
            ".jitsi-stack/secrets.env",
            "JVB_AUTH_PASSWORD=" + "a" * 32 + "\nJVB_AUTH_PASSWORD=" + "b" * 32 + "\n",
        ),
        code=1,
    ),
    Case("secrets-link", setup=_link(".jitsi-stack/secrets.env", "/etc/hostname"), code=1),
    Case(
        "secrets-directory",
        setup=lambda root: (
            (root / ".jitsi-stack/secrets.env").unlink(),
            (root / ".jitsi-stack/secrets.env").mkdir(),
        ),
        code=1,
    ),
]
# case id -> the exact error line
EXPECTED: dict[str, str] = {
    "unknown-key": "error: jitsi-stack.yml: unknown setting public_ur1 (did you mean public_url?): fix or remove it",
    "unknown-nested": "error: jitsi-stack.yml: unknown setting ports.htp (did you mean ports.http?): fix or remove it",
    "unknown-section": "error: jitsi-stack.yml: unknown setting portz (did you mean ports?): fix or remove it",
    "unknown-deep": "error: jitsi-stack.yml: unknown setting auth.jwt.app_key (did you mean auth.jwt.app_id?): fix or remove it",
    "upstream-at-top": "error: jitsi-stack.yml: DOCKER_HOST_ADDRESS: removed upstream: set jvb.advertise_ips instead",
    "managed-at-top": "error: jitsi-stack.yml: ENABLE_AUTH is an upstream variable, managed by jitsi-stack: set auth.enabled instead",
    "passthrough-at-top": "error: jitsi-stack.yml: ENABLE_BREAKOUT_ROOMS is an upstream variable: put it under env: (ENABLE_BREAKOUT_ROOMS: value)",
    "section-as-scalar": "error: jitsi-stack.yml: auth: must be a section of settings (a mapping), not true/false: e.g. auth: {enabled: ...}",
    "section-as-list": "error: jitsi-stack.yml: ports: must be a section of settings (a mapping), not a list: e.g. ports: {http: ...}",
    "section-as-text": "error: jitsi-stack.yml: https: must be a section of settings (a mapping), not text: e.g. https: {enabled: ...}",
    "nested-section-scalar": "error: jitsi-stack.yml: https.letsencrypt: must be a section of settings (a mapping), not true/false: e.g. https.letsencrypt: {enabled: ...}",
    "number-key": "error: jitsi-stack.yml: 42: a setting name must be text",
    "env-not-mapping": "error: jitsi-stack.yml: env: must be a mapping NAME: value",
    "env-text": "error: jitsi-stack.yml: env: must be a mapping NAME: value",
    "yaml-syntax": "error: jitsi-stack.yml: line 2: not valid YAML (expected ',' or ']', but got '<stream end>'): fix the syntax",
    "yaml-tab": "error: jitsi-stack.yml: line 2: not valid YAML (found character '\\t' that cannot start any token): fix the syntax",
    "yaml-top-list": "error: jitsi-stack.yml: the top level must be a mapping of settings (key: value)",
    "yaml-top-scalar": "error: jitsi-stack.yml: the top level must be a mapping of settings (key: value)",
    "duplicate-section": "error: jitsi-stack.yml: line 2: duplicate key 'auth' (first on line 1): merge the two into one",
    "duplicate-key": "error: jitsi-stack.yml: line 3: duplicate key 'http' (first on line 2): merge the two into one",
    "duplicate-env": "error: jitsi-stack.yml: line 3: duplicate key 'ENABLE_LOBBY' (first on line 2): merge the two into one",
    "alias": "error: jitsi-stack.yml: line 2: YAML aliases (*name) are not allowed: write the value out",
    "alias-bomb": "error: jitsi-stack.yml: line 2: YAML aliases (*name) are not allowed: write the value out",
    "merge-key": "error: jitsi-stack.yml: line 2: YAML aliases (*name) are not allowed: write the value out",
    "python-tag": "error: jitsi-stack.yml: line 1: not valid YAML (could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'): fix the syntax",
    "binary-tag": "error: timezone: b'hello' must be text: quote it",
    "bool-text": "error: auth.guests: 'sometimes' is not true or false: write true or false, or remove it (false with auth.type jwt and moderator_from_token (true is refused there), else true)",
    "bool-number": "error: https.enabled: 1 is not true or false: write true or false",
    "port-text": "error: ports.http: 'eighty' is not a whole number: write a number like 8443",
    "port-float": "error: ports.http: 8443.5 is not a whole number: write a number like 8443",
    "port-bool": "error: ports.http: true is not a whole number: write a number like 8443",
    "port-zero": "error: ports.http: port 0 is out of range: use a port between 1 and 65535",
    "port-range": "error: ports.jvb_media: port 70000 is out of range: use a port between 1 and 65535",
    "port-negative": "error: ports.jvb_colibri: port -1 is out of range: use a port between 1 and 65535",
    "int-zero": "error: health.timeout: 0 must be greater than 0",
    "int-text": "error: health.interval: 'soon' is not a whole number: write a number like 5",
    "list-scalar": "error: jvb.advertise_ips: must be a list of text values, e.g. [a, b]",
    "list-of-numbers": "error: compose.extra_files: must be a list of text values, e.g. [a, b]",
    "text-list": "error: timezone: ['UTC'] must be text: quote it",
    "text-mapping": "error: public_url: {'host': 'x'} must be text: quote it",
    "text-null": "error: public_url: has no value: write one, or remove the key to keep the default",
    "choice": "error: restart_policy: unknown value 'sometimes': use one of no, always, unless-stopped, on-failure",
    "choice-case": "error: auth.type: unknown value 'JWT': use one of internal, jwt, ldap, matrix",
    "choice-typo": "error: sip.transport: unknown value 'TPC' (did you mean TCP?): use one of UDP, TCP, TLS",
    "newline": "error: timezone: must be a single line: remove the line break",
    "carriage-return": "error: container_prefix: must be a single line: remove the line break",
    "nul": "error: xmpp.domain: contains a control character (NUL, escape, ...): remove it",
    "escape": "error: public_url: contains a control character (NUL, escape, ...): remove it",
    "nul-in-secret": "error: auth.jwt.app_secret: contains a control character (NUL, escape, ...): remove it",
    "cr-in-list": "error: jvb.advertise_ips: an entry contains a control character: remove it",
    "secret-number": "error: sip.password: must be text: quote the value in jitsi-stack.yml ('...')",
    "secret-hex": "error: auth.jwt.app_secret: must be text: quote the value in jitsi-stack.yml ('...')",
    "secret-list": "error: auth.jwt.app_secret: must be text: quote the value in jitsi-stack.yml ('...')",
    "secret-date": "error: auth.jwt.app_secret: must be text: quote the value in jitsi-stack.yml ('...')",
    "secret-mapping": "error: auth.ldap.bindpw: must be text: quote the value in jitsi-stack.yml ('...')",
    "secret-bool": "error: sip.password: must be text: quote the value in jitsi-stack.yml ('...')",
    "project-upper": "error: project_name: 'CallCenter' is not a valid Docker name: use lowercase letters, digits, '-' and '_'",
    "project-space": "error: project_name: 'call center' is not a valid Docker name: use lowercase letters, digits, '-' and '_'",
    "prefix-slash": "error: container_prefix: 'a/b' is not a valid Docker name: use lowercase letters, digits, '-' and '_'",
    "network-dash": "error: network.name: '-net' is not a valid Docker name: use lowercase letters, digits, '-' and '_'",
    "network-internal": "error: network.name: callcenter-jitsi-internal is the name of Jitsi's own network: choose another name for the network shared with the platform",
    "bad-domain": "error: xmpp.domain: '-bad-.jitsi' is not a valid domain: use a name like meet.jitsi",
    "domain-trailing-dot": "error: xmpp.domain: 'meet.jitsi.' is not a valid domain: use a name like meet.jitsi",
    "domain-underscore": "error: xmpp.domain: 'meet_jitsi' is not a valid domain: use a name like meet.jitsi",
    "repo-with-tag": "error: images.repository: 'ghcr.io/jitsi:latest' is not a registry path: use e.g. ghcr.io/jitsi (no tag)",
    "repo-upper": "error: images.repository: 'GHCR.io/Jitsi' is not a registry path: use e.g. ghcr.io/jitsi (no tag)",
    "floating-tag": "error: images.tag: 'latest' floats between releases and breaks upgrades: pin a release such as stable-11146-2",
    "unstable-tag": "error: images.tag: 'unstable' floats between releases and breaks upgrades: pin a release such as stable-11146-2",
    "old-tag": "error: images.tag: stable-10184 is older than stable-11146-2, the first release this jitsi-stack renders for (uid 1000, ports 8000/8443, no tmp/web-crontabs): use stable-11146-2 or newer",
    "tag-space": "error: images.tag: 'stable 11146' is not a valid image tag: use e.g. stable-11146-2",
    "etherpad-image": "error: images.etherpad: 'etherpad etherpad' is not an image reference: use name:tag",
    "timezone-bogus": "error: timezone: 'Mars/Olympus' is not a time zone: use e.g. UTC or Europe/Berlin",
    "timezone-path": "error: timezone: '../../etc/passwd' is not a time zone: use e.g. UTC or Europe/Berlin",
    "url-scheme": "error: public_url: 'ftp://meet.example.com' is not an http(s) URL: use e.g. https://meet.example.com or http://localhost:8443",
    "url-no-scheme": "error: public_url: 'meet.example.com' is not an http(s) URL: use e.g. https://meet.example.com or http://localhost:8443",
    "url-path": "error: public_url: 'https://meet.example.com/jitsi' has a path, query or fragment: Jitsi must be served at the root, use scheme://host[:port]",
    "url-query": "error: public_url: 'https://meet.example.com/?a=1' has a path, query or fragment: Jitsi must be served at the root, use scheme://host[:port]",
    "url-port": "error: public_url: 'http://localhost:99999' is not a valid URL (port or IPv6 address): use e.g. https://meet.example.com or https://[2001:db8::1]",
    "url-port-text": "error: public_url: 'http://localhost:abc' is not a valid URL (port or IPv6 address): use e.g. https://meet.example.com or https://[2001:db8::1]",
    "url-host": "error: public_url: host 'meet_example!.com' is not a valid domain or IP address",
    "url-user": "error: public_url: must not contain a user or password: remove the user:pass@ part",
    "url-ipv6-broken": "error: public_url: 'https://[2001:db8::1' is not a valid URL (port or IPv6 address): use e.g. https://meet.example.com or https://[2001:db8::1]",
    "url-ipv6-bad": "error: public_url: 'https://[2001:db8:::zz]' is not a valid URL (port or IPv6 address): use e.g. https://meet.example.com or https://[2001:db8::1]",
    "url-port-mismatch": "error: public_url: port 9999 differs from ports.http (8443): make them the same",
    "https-localhost": "error: public_url: https://localhost:8444 is https on localhost but https.enabled is false: set https.enabled: true or use http://",
    "port-clash": "error: ports.jicofo_rest: port 8888/tcp is also used by ports.jvb_colibri: choose another port",
    "port-clash-https": "error: ports.https: port 8443/tcp is also used by ports.http: choose another port",
    "jigasi-range-swapped": "error: ports.jigasi_min: 20050 is above ports.jigasi_max (20000): swap them",
    "jigasi-range-media": "error: ports.jigasi_min: the range 20000-20050/udp contains ports.jvb_media (20010): move one of them",
    "redirect-without-https": "error: https.http_redirect: needs https.enabled: true (or turn the redirect off)",
    "le-without-https": "error: https.letsencrypt.enabled: needs https.enabled: true",
    "le-missing": "error: https.letsencrypt.domain: required when Let's Encrypt is on: set the public domain",
    "le-domain-mismatch": "error: https.letsencrypt.domain: other.example.com differs from the public_url host meet.example.com: make them the same",
    "le-email": "error: https.letsencrypt.email: 'nobody' is not an e-mail address",
    "le-ports": "error: https.letsencrypt.enabled: Let's Encrypt needs host ports 80 and 443 (ports.http is 8443, ports.https is 8444): set them to 80 and 443",
    "auth-type": "error: auth.type: unknown value 'kerberos': use one of internal, jwt, ldap, matrix",
    "jwt-no-id": "error: auth.jwt.app_id: required when auth.type is jwt: set the app id",
    "jwt-algorithm": "error: auth.jwt.algorithm: unknown value 'RS256' (did you mean HS256?): use one of HS256, HS384, HS512",
    "jwt-false": "error: auth.jwt.app_secret: upstream reads this value as false and drops the secret (token auth off): choose a long random secret",
    "jwt-zero": "error: auth.jwt.app_secret: upstream reads this value as false and drops the secret (token auth off): choose a long random secret",
    "jwt-quote": 'error: auth.jwt.app_secret: contains ", which prosody\'s config (a Lua string) cannot hold: choose a value without "',
    "jwt-backslash": "error: auth.jwt.app_secret: contains \\, which prosody's config (a Lua string) cannot hold: choose a value without \\",
    "jwt-issuer-quote": 'error: auth.jwt.accepted_issuers: contains ", which prosody\'s config (a Lua string) cannot hold: choose a value without "',
    "ldap-url": "error: auth.ldap.url: 'http://x' is not an ldap:// or ldaps:// URL",
    "ldap-no-base": "error: auth.ldap.base: required when auth.type is ldap: set the search base",
    "matrix-no-url": "error: auth.matrix.uvs_url: required when auth.type is matrix: set the UVS URL",
    "matrix-token-backslash": "error: auth.matrix.uvs_auth_token: contains \\, which prosody's config (a Lua string) cannot hold: choose a value without \\",
    "recording-no-jibri": "error: features.recording: needs the recorder: set services.jibri: true",
    "transcriptions-no-transcriber": "error: features.transcriptions: needs services.transcriber: true",
    "jibri-no-recording": "error: services.jibri: needs features.recording: true (prosody creates the recorder's account only then)",
    "transcriber-no-flag": "error: services.transcriber: needs features.transcriptions: true (prosody creates the transcriber's account only then)",
    "sip-missing": "error: sip.uri: required when services.jigasi is on: set the SIP account",
    "sip-uri": "error: sip.uri: 'agent' is not user@server: write the full SIP address",
    "bad-ip": "error: jvb.advertise_ips: '300.1.2.3' is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)",
    "ip-brackets": "error: jvb.advertise_ips: '[2001:db8::1]' is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)",
    "ip-port-zero": "error: jvb.advertise_ips: '203.0.113.10#0' is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)",
    "ip-hostname": "error: jvb.advertise_ips: 'meet.example.com' is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)",
    "removed-var": "error: env.DOCKER_HOST_ADDRESS: removed upstream: set jvb.advertise_ips instead",
    "colibri-ws": "error: env.ENABLE_COLIBRI_WEBSOCKET: removed in stable-11146 (the bridge channel is SCTP only, no colibri websocket): delete it",
    "component-secret": "error: env.JICOFO_COMPONENT_SECRET: unused upstream since 2021: delete it (jitsi-stack manages the six internal passwords)",
    "tcp-harvester": "error: env.JVB_TCP_PORT: the JVB TCP fallback was removed in stable-7001: use a TURN server instead",
    "misspelt-turn": "error: env.TURN_CREDENTIAL: misspelt: the upstream name is TURN_CREDENTIALS (set turn.secret)",
    "unknown-var": "error: env.ENABLE_LOBY: not an upstream docker-jitsi-meet variable (did you mean ENABLE_LOBBY?): fix the name",
    "lower-var": "error: env.enable_lobby: not a variable name: use UPPER_CASE",
    "managed-var": "error: env.PUBLIC_URL: managed by jitsi-stack: set public_url instead",
    "managed-secret": "error: env.JVB_AUTH_PASSWORD: set by jitsi-stack (a generated internal password: `inv rotate-secrets` replaces it): remove it",
    "derived-rest": "error: env.JICOFO_ENABLE_REST: set by jitsi-stack (always on: jicofo's health and stats endpoints live there): remove it",
    "derived-bosh": "error: env.XMPP_BOSH_URL_BASE: set by jitsi-stack (derived from XMPP_SERVER): remove it",
    "env-domain-bad": "error: env.XMPP_MUC_DOMAIN: 'conference meet' is not a domain: use e.g. muc.meet.jitsi",
    "env-value-list": "error: env.ENABLE_BREAKOUT_ROOMS: must be a single value (text, number or true/false)",
    "env-value-null": "error: env.ENABLE_BREAKOUT_ROOMS: must be a single value (text, number or true/false)",
    "env-value-newline": "error: env.DEFAULT_LANGUAGE: must be a single line: remove the line break",
    "env-value-nul": "error: env.DEFAULT_LANGUAGE: contains a control character (NUL, escape, ...): remove it",
    "env-lua-quote": 'error: env.TURN_PASSWORD: contains ", which prosody\'s config (a Lua string) cannot hold: choose a value without "',
    "extra-file": "error: compose.extra_files: platform.yml does not exist: fix the path",
    "frontend-dir-missing": "error: frontend.env_file: the directory of nowhere/.env.local does not exist: fix the path or create the directory",
    "frontend-managed-secrets": "error: frontend.env_file: .jitsi-stack/secrets.env is managed by jitsi-stack: name the frontend's own env file (e.g. ../frontend/.env.local)",
    "frontend-managed-env": "error: frontend.env_file: jitsi-meet/.env is managed by jitsi-stack: name the frontend's own env file (e.g. ../frontend/.env.local)",
    "frontend-managed-settings": "error: frontend.env_file: jitsi-stack.yml is managed by jitsi-stack: name the frontend's own env file (e.g. ../frontend/.env.local)",
    "frontend-directory": "error: frontend.env_file: jitsi-meet is managed by jitsi-stack: name the frontend's own env file (e.g. ../frontend/.env.local)",
    "frontend-link": "error: frontend.env_file: front.env is a symbolic link: name the real file",
    "origin-path": "error: frontend.origins: 'https://agents.example.com/app' has a path, query or fragment: an origin has none: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-query": "error: frontend.origins: 'https://agents.example.com?x=1' has a path, query or fragment: an origin has none: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-star": "error: frontend.origins: '*' is a bare wildcard: name the frontend's origin: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-mid-wildcard": "error: frontend.origins: 'https://agents.*.example.com' has a wildcard other than a leading *. in the host: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-ip-wildcard": "error: frontend.origins: 'https://*.10.0.0.1' has a wildcard on an IP address: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-userinfo": "error: frontend.origins: 'https://me@agents.example.com' has a user or password: an origin has none: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-scheme": "error: frontend.origins: 'ftp://agents.example.com' has the scheme ftp: only http and https frame a meeting: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-no-scheme": "error: frontend.origins: 'agents.example.com' has no scheme://: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-port": "error: frontend.origins: 'https://agents.example.com:99999' has the port 99999: use 1-65535 or *: use scheme://host[:port], e.g. https://agents.example.com or http://localhost:3000",
    "origin-duplicate": "error: frontend.origins: 'HTTPS://Agents.example.com:443' is the same origin as 'https://agents.example.com': list it once",
    "token-url-http": "error: frontend.token_url: 'http://x.example.com/t' is neither a path nor an https URL: use e.g. /api/jitsi-token or https://platform.example.com/api/jitsi-token",
    "token-url-newline": "error: frontend.token_url: must be a single line: remove the line break",
    "env-names-unknown": "error: frontend.env_names: unknown value 'nuxt' (did you mean next?): use one of next, vite, plain",
    "dev-https-text": "error: frontend.dev_https: 'yes' is not true or false: write true or false",
    "origins-not-a-list": "error: frontend.origins: must be a list of text values, e.g. [a, b]",
    "dev-ca-damaged": "error: .jitsi-stack/dev-ca/ca.crt: is not a PEM certificate (damaged): remove .jitsi-stack/dev-ca and run `inv render` to make a new CA, then `inv dev-ca.trust` again",
    "env-override-unknown": "error: environment: unknown override JITSI_STACK_PORTS__HTTPP (did you mean JITSI_STACK_PORTS__HTTP?): fix or unset it",
    "env-override-range": "error: ports.http: port 0 is out of range: use a port between 1 and 65535",
    "env-override-type": "error: auth.enabled: 'perhaps' is not true or false: write true or false",
    "env-override-list": "error: jvb.advertise_ips: '300.0.0.1' is not an IP or IP#PORT: write e.g. 203.0.113.10, 192.168.1.10#10000 or 2001:db8::1 (no brackets)",
    "env-override-newline": "error: environment: JITSI_STACK_TIMEZONE contains a line break or NUL: use one line",
    "env-override-yaml": "error: ports.http: '[1' is not a whole number: write a number like 8443",
    "env-override-secret-type": 'error: auth.jwt.app_secret: contains ", which prosody\'s config (a Lua string) cannot hold: choose a value without "',
    "env-passthrough-unknown": "error: env.ENABLE_LOBY: not an upstream docker-jitsi-meet variable (did you mean ENABLE_LOBBY?): fix the name",
    "env-passthrough-managed": "error: env.PUBLIC_URL: managed by jitsi-stack: set public_url instead",
    "profile-missing": "error: JITSI_STACK_PROFILE: profile file jitsi-stack.production.yml does not exist: create it or unset JITSI_STACK_PROFILE",
    "profile-slash": "error: JITSI_STACK_PROFILE: '../etc/x' is not a profile name: use letters, digits, '-' and '_' (e.g. production)",
    "profile-empty-name": "error: JITSI_STACK_PROFILE: '-' is not a profile name: use letters, digits, '-' and '_' (e.g. production)",
    "settings-env-missing": "error: JITSI_STACK_SETTINGS: /nonexistent/jitsi.yml does not exist: fix the path or unset it",
    "root-missing": "error: JITSI_STACK_ROOT: '/nonexistent/project' is not an existing directory: create it or fix the path",
    "root-is-file": "error: JITSI_STACK_ROOT: '/etc/hostname' is not an existing directory: create it or fix the path",
    "settings-dangling-link": "error: jitsi-stack.yml: is a link to gone.yml, which does not exist: fix the link",
    "settings-looping-link": "error: jitsi-stack.yml: is a link that loops: replace it with a file",
    "settings-fifo": "error: jitsi-stack.yml: is not a regular file: it must be a YAML file",
    "settings-directory": "error: jitsi-stack.yml: is a directory: it must be a YAML file",
    "settings-latin1": "error: jitsi-stack.yml: byte 18 is not UTF-8: save the file as UTF-8",
    "settings-binary": "error: jitsi-stack.yml: byte 3 is not UTF-8: save the file as UTF-8",
    "settings-huge": "error: jitsi-stack.yml: is 1048579 bytes, more than the 1 MiB a settings file may have",
    "local-broken": "error: jitsi-stack.local.yml: line 2: not valid YAML (expected the node content, but found '<stream end>'): fix the syntax",
    "local-unknown": "error: jitsi-stack.local.yml: unknown setting prots (did you mean ports?): fix or remove it",
    "config-dir-link": "error: jitsi-meet: is a symbolic link: jitsi-stack writes only inside the project: replace the link with a real directory or file",
    "web-dir-link": "error: jitsi-meet/web: is a symbolic link: jitsi-stack writes only inside the project: replace the link with a real directory or file",
    "state-dir-link": "error: .jitsi-stack: is a symbolic link: jitsi-stack writes only inside the project: replace the link with a real directory or file",
    "backups-link": "error: backups: is a symbolic link: jitsi-stack writes backup archives only into a real directory: replace the link with a directory",
    "state-list": "error: .jitsi-stack/state.json: must hold a JSON object: restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "state-overrides-list": "error: .jitsi-stack/state.json: 'overrides' must be an object with at most images.tag: restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "state-truncated": "error: .jitsi-stack/state.json: is not valid JSON (truncated or edited): restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "state-bad-tag": "error: .jitsi-stack/state.json: overrides.images.tag.value is not an image tag: restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "state-unknown": "error: .jitsi-stack/state.json: unknown entry 'hello': restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "state-binary": "error: .jitsi-stack/state.json: is not UTF-8 text (damaged?): restore it from a backup or delete it",
    "state-status": "error: .jitsi-stack/state.json: must hold a JSON object: restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "state-config": "error: .jitsi-stack/state.json: is not valid JSON (truncated or edited): restore it from a backup (.jitsi-stack/backups/), or delete it to forget the update history (the tag in jitsi-stack.yml is then used)",
    "manifest-list": 'error: .jitsi-stack/manifest.json: must be {"files": {path: sha256}, ...}: delete it; the next render treats every generated file as a hand edit to review',
    "manifest-files-list": 'error: .jitsi-stack/manifest.json: must be {"files": {path: sha256}, ...}: delete it; the next render treats every generated file as a hand edit to review',
    "manifest-bad-hash": 'error: .jitsi-stack/manifest.json: must be {"files": {path: sha256}, ...}: delete it; the next render treats every generated file as a hand edit to review',
    "manifest-tree-escape": 'error: .jitsi-stack/manifest.json: must be {"files": {path: sha256}, ...}: delete it; the next render treats every generated file as a hand edit to review',
    "manifest-truncated": "error: .jitsi-stack/manifest.json: is not valid JSON: delete it; the next render treats every generated file as a hand edit to review",
    "secrets-binary": "error: .jitsi-stack/secrets.env: is not text (damaged): restore the file from a backup (prosody keeps the accounts made with the old passwords)",
    "secrets-bad-line": "error: .jitsi-stack/secrets.env:1: not NAME=<hex>: restore the file from a backup (prosody keeps the accounts made with the old passwords)",
    "secrets-unknown-name": "error: .jitsi-stack/secrets.env:1: not NAME=<hex>: restore the file from a backup (prosody keeps the accounts made with the old passwords)",
    "secrets-duplicate": "error: .jitsi-stack/secrets.env:2: JVB_AUTH_PASSWORD appears twice: restore the file from a backup (prosody keeps the accounts made with the old passwords)",
    "secrets-link": "error: .jitsi-stack/secrets.env: is a symbolic link: jitsi-stack writes only inside the project: replace the link with a real directory or file",
    "secrets-directory": "error: .jitsi-stack/secrets.env: is a directory, not a regular file: move it away and re-run",
}


def _copy(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst, symlinks=True)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(case, good_tree, tmp_path):
    root = tmp_path / "project"
    _copy(good_tree, root)
    if case.settings is not None:
        write_settings(root, case.settings)
    if case.setup is not None:
        case.setup(root)
    before = tree_snapshot(root)
    outside = tree_snapshot(tmp_path)
    proc = run_cli(root, *case.argv, env=case.env)
    assert proc.returncode == case.code, proc.stderr
    assert len(proc.lines) == 1, proc.lines
    assert proc.lines[0].startswith("error: "), proc.lines
    assert proc.lines[0] == EXPECTED[case.id]
    assert "Traceback" not in proc.stderr + proc.stdout
    text = proc.stdout + proc.stderr
    for secret in (SECRET, *FIXED_SECRETS.values()):
        assert secret not in text
    assert tree_snapshot(root) == before
    assert tree_snapshot(tmp_path) == outside  # nothing outside the root either


def test_enough_cases():
    assert len(CASES) >= 140
    assert len({c.id for c in CASES}) == len(CASES)
    assert set(EXPECTED) == {c.id for c in CASES}


def test_every_problem_is_reported_each_on_its_own_line(root):
    write_settings(root, "public_ur1: x\nports:\n  htp: 1\n")
    proc = run_cli(root, "render")
    assert proc.returncode == 2
    assert len(proc.lines) == 2
    assert "public_ur1" in proc.lines[0] and "ports.htp" in proc.lines[1]
    assert not (root / "docker-compose.yml").exists()
    assert not (root / "jitsi-meet").exists()


def test_a_long_value_is_cut_in_the_message(root):
    write_settings(root, "timezone: " + "A" * 5000 + "\n")
    proc = run_cli(root, "render")
    assert proc.returncode == 2
    assert len(proc.lines[0]) < 200
