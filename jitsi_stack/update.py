"""`inv update`: pull, recreate, verify health, roll back by itself when health fails.

The running tag and image ids are recorded in .jitsi-stack/state.json before
anything changes; the tag chosen with --tag is kept there as an override of
images.tag (shown by `inv config` with its source).
"""

from __future__ import annotations

import datetime as _dt
import subprocess

from . import compose, lifecycle, project, ui
from .errors import StackError
from .settings import FLOATING_TAGS, TAG_RE, Settings


def image_ids(s: Settings) -> dict[str, str]:
    """service -> image id of its current container."""
    ids = {}
    for row in compose.ps(s):
        result = subprocess.run(
            ["docker", "inspect", "--format", "{{.Image}}", row.get("ID", "")],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            ids[row.get("Service", "")] = result.stdout.strip()
    return ids


def _set_tag(base, state: dict, tag: str) -> None:
    """Record the chosen tag as an override of the configured one (or drop it)."""
    configured = project.load(base, use_state=False)["images.tag"]
    overrides = state.setdefault("overrides", {})
    if tag == configured:
        overrides.pop("images.tag", None)
    else:
        overrides["images.tag"] = {"value": tag, "over": configured}
    project.write_state(base, state)


def check_tag(tag: str) -> None:
    if not TAG_RE.match(tag):
        raise StackError(f"--tag: {tag!r} is not a valid image tag: use e.g. stable-11146-2")
    if tag in FLOATING_TAGS:
        raise StackError(
            f"--tag: {tag!r} floats between releases: pin a release such as stable-11146-2"
        )


def update(s: Settings, tag: str | None = None, rollback: bool = False) -> str:
    """Returns a one-line summary; raises StackError when it had to roll back."""
    base = s.root
    state = project.read_state(base)
    current = s["images.tag"]
    if rollback:
        previous = state.get("previous", {}).get("tag")
        if not previous:
            raise StackError(
                "nothing to roll back to: no previous tag is recorded (run "
                "`inv update --tag TAG` first)"
            )
        target = previous
    else:
        target = tag or current
    check_tag(target)
    state["previous"] = {
        "tag": current,
        "images": image_ids(s),
        "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    _set_tag(base, state, target)
    fresh = project.load(base)
    ui.info(f"updating {current} -> {target}" if target != current else f"refreshing {current}")
    try:
        if target == current and not rollback:
            # Same tag: pull newer images for it (a registry may have re-pushed the tag).
            lifecycle.report_render(lifecycle.render.render(fresh))
            result = compose.run(fresh, "pull", *lifecycle.jitsi_services(fresh), capture=False)
            if not result.ok:
                raise StackError("pulling the images failed: check the registry and images.*")
        lifecycle.up(fresh, [])
    except StackError as err:
        if rollback:
            raise
        ui.error(str(err))
        if err.detail:
            ui.plain(err.detail)
        ui.info(f"rolling back to {current}")
        state = project.read_state(base)
        _set_tag(base, state, current)
        state["last_failed"] = {"tag": target, "reason": str(err)}
        project.write_state(base, state)
        lifecycle.up(project.load(base), [], recreate=False)
        raise StackError(
            f"update to {target} failed and was rolled back to {current}; the stack is healthy "
            f"on {current} (cause: {str(err).split(':', 1)[0]})"
        ) from None
    state = project.read_state(base)
    history = state.setdefault("history", [])
    history.append(
        {
            "from": current,
            "to": target,
            "at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
    )
    del history[:-20]
    project.write_state(base, state)
    return f"running {target} (previous: {current}; `inv update --rollback` returns to it)"
