"""Deletion and backup on the real filesystem: nothing outside the project is touched."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from jitsi_stack.errors import StackError
from jitsi_stack.store.safefs import safe_remove


def snapshot(path: Path) -> dict[str, tuple[int, str]]:
    """{relative name: (mode, sha256 of content or link target)} without following links."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                digest = "link:" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                digest = "dir"
            out[str(p.relative_to(path))] = (st.st_mode, digest)
    return out


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """project/ with a tree holding links to the outside world, and outside/ itself."""
    outside = tmp_path / "outside"
    (outside / "secrets").mkdir(parents=True)
    (outside / "secrets" / "sentinel").write_bytes(b"do not delete\n")
    (outside / "secrets" / "nested").mkdir()
    (outside / "secrets" / "nested" / "deep").write_bytes(b"deep sentinel\n")
    (outside / "file.txt").write_bytes(b"outside file\n")

    root = tmp_path / "project"
    tree = root / "config"
    (tree / "web" / "keys").mkdir(parents=True)
    (tree / "web" / "keys" / "cert.key").write_bytes(b"-----KEY-----\n")
    (tree / "web" / "config.js").write_text("var config = {};\n")
    (tree / "prosody" / "data").mkdir(parents=True)
    (tree / "prosody" / "data" / "accounts.dat").write_text("x")
    (tree / "top.env").write_text("A=1\n")
    (tree / "link-to-outside-dir").symlink_to(outside / "secrets", target_is_directory=True)
    (tree / "web" / "link-to-outside-file").symlink_to(outside / "file.txt")
    (tree / "dangling").symlink_to(tmp_path / "does-not-exist")
    (tree / "link-to-inside").symlink_to(root / "keep", target_is_directory=True)
    (root / "keep").mkdir()
    (root / "keep" / "k.txt").write_text("kept\n")
    (root / "jitsi-stack.yml").write_text("domain: meet.example.org\n")
    return {"root": root, "tree": tree, "outside": outside}


# --------------------------------------------------------------------------- safe_remove


def test_remove_tree_never_follows_links(layout: dict[str, Path]) -> None:
    root, tree, outside = layout["root"], layout["tree"], layout["outside"]
    before_outside = snapshot(outside)
    before_keep = snapshot(root / "keep")

    assert safe_remove(root, tree) is True

    assert not os.path.lexists(tree)
    assert snapshot(outside) == before_outside  # byte-identical, same modes
    assert (outside / "secrets" / "sentinel").read_bytes() == b"do not delete\n"
    assert (outside / "file.txt").read_bytes() == b"outside file\n"
    assert snapshot(root / "keep") == before_keep  # link target inside root untouched too
    assert (root / "jitsi-stack.yml").exists()


def test_remove_symlink_removes_only_the_link(layout: dict[str, Path]) -> None:
    root, tree, outside = layout["root"], layout["tree"], layout["outside"]
    before = snapshot(outside)
    assert safe_remove(root, tree / "link-to-outside-dir") is True
    assert safe_remove(root, tree / "web" / "link-to-outside-file") is True
    assert safe_remove(root, tree / "dangling") is True
    assert not os.path.lexists(tree / "link-to-outside-dir")
    assert not os.path.lexists(tree / "dangling")
    assert snapshot(outside) == before


def test_remove_file_and_missing(layout: dict[str, Path]) -> None:
    root, tree = layout["root"], layout["tree"]
    assert safe_remove(root, tree / "top.env") is True
    assert not (tree / "top.env").exists()
    assert safe_remove(root, tree / "top.env") is False
    assert safe_remove(root, root / "no" / "such" / "dir") is False
    assert safe_remove(root, Path("config/web/config.js")) is True  # relative to root


def test_remove_through_symlinked_parent_is_refused(layout: dict[str, Path]) -> None:
    """config/link-to-outside-dir/sentinel resolves (via its parent) to outside/."""
    root, tree, outside = layout["root"], layout["tree"], layout["outside"]
    with pytest.raises(StackError, match="outside the project directory"):
        safe_remove(root, tree / "link-to-outside-dir" / "sentinel")
    assert (outside / "secrets" / "sentinel").exists()


@pytest.mark.parametrize(
    "target",
    [
        lambda root, outside: outside,
        lambda root, outside: outside / "file.txt",
        lambda root, outside: root / ".." / "outside",
        lambda root, outside: root / "config" / ".." / ".." / "outside" / "file.txt",
        lambda root, outside: Path("../outside"),
        lambda root, outside: root.parent,
        lambda root, outside: Path("/"),
    ],
    ids=["outside-dir", "outside-file", "dotdot", "deep-dotdot", "relative-dotdot", "parent", "/"],
)
def test_refuses_outside_root(layout: dict[str, Path], target) -> None:
    root, outside = layout["root"], layout["outside"]
    before = snapshot(outside)
    with pytest.raises(StackError) as err:
        safe_remove(root, target(root, outside))
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("refusing to delete")
    assert snapshot(outside) == before
    assert (root / "jitsi-stack.yml").exists()


@pytest.mark.parametrize(
    "target",
    [
        lambda root: root,
        lambda root: root / ".",
        lambda root: root / "config" / "..",
        lambda root: Path("."),
        lambda root: root.parent / root.name,
    ],
    ids=["root", "root-dot", "child-dotdot", "relative-dot", "via-parent"],
)
def test_refuses_root_itself(layout: dict[str, Path], target) -> None:
    root = layout["root"]
    with pytest.raises(StackError, match="refusing to delete"):
        safe_remove(root, target(root))
    assert (root / "jitsi-stack.yml").exists()


def test_root_given_through_a_symlink(layout: dict[str, Path], tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(layout["root"], target_is_directory=True)
    with pytest.raises(StackError, match="itself"):
        safe_remove(alias, layout["root"])
    assert safe_remove(alias, alias / "config") is True
    assert not layout["tree"].exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_removes_tree_owned_by_another_uid_mode_0700(tmp_path: Path) -> None:
    root = tmp_path / "project"
    tree = root / "data"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("x")
    (tree / "g").write_text("y")
    for p in (tree / "sub" / "f", tree / "g"):
        os.chown(p, 1000, 1000)
        p.chmod(0o600)
    for d in (tree / "sub", tree):
        os.chown(d, 1000, 1000)
        d.chmod(0o700)
    assert tree.stat().st_uid == 1000
    assert stat.S_IMODE(tree.stat().st_mode) == 0o700

    assert safe_remove(root, tree) is True
    assert not tree.exists()
    assert root.is_dir()
