"""``safe_filename``: any experiment name becomes one safe, bounded, distinct path component."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasforge.naming import MAX_NAME_CHARS, safe_filename


@pytest.mark.parametrize("name", ["../../pwned", "/etc/passwd", "..", ".", "", "a/b\\c", "x" * 300, "é漢字 name",
                                  ".hidden", "a\x00b", "C:\\Windows"])
def test_unsafe_names_become_one_component_inside_the_folder(tmp_path: Path, name: str) -> None:
    out = safe_filename(name)
    assert 0 < len(out) <= MAX_NAME_CHARS
    assert out not in (".", "..") and not out.startswith(".")
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert (tmp_path / out).resolve().parent == tmp_path.resolve()


def test_safe_names_are_kept_and_distinct_names_never_collide() -> None:
    assert safe_filename("mine") == "mine" and safe_filename("run-3.b_2") == "run-3.b_2"
    names = ["a/b", "a_b", "a:b", "a b", "x" * 300, "x" * 301, "x" * 79 + "y", "..", "_.", "", "e3b0c442",
             safe_filename("a/b")]  # even a name equal to another name's result stays apart
    outs = [safe_filename(n) for n in names]
    assert len(set(outs)) == len(names), dict(zip(names, outs))
    assert safe_filename("x" * 300) == safe_filename("x" * 300)  # stable
