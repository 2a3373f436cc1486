"""One-shot run folders derive from experiment names through ``safe_filename``: they never leave the store's folder."""

from __future__ import annotations

from pathlib import Path

from nasforge.cli.oneshot import run_dir


def test_run_dir_stays_next_to_the_store(tmp_path: Path) -> None:
    store = tmp_path / "runs.db"
    base = (tmp_path / "runs.oneshot").resolve()
    for name in ["g", "../../pwned", "/abs/path", "..", "x" * 300]:
        folder = run_dir(str(store), name).resolve()
        assert folder.parent == base, (name, folder)
        assert len(folder.name) <= 80
    assert run_dir(str(store), "g") == tmp_path / "runs.oneshot" / "g"  # plain names are unchanged
