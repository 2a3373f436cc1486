"""``define_space`` spaces can be searched: the README example as written, by object and by name, and resume."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nasforge as nf
from nasforge.errors import InvalidConfigError
from nasforge.spaces import SPACES, PythonSpace, get_space, space_from_spec, space_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"expected one python block with {marker!r} in README.md"
    return found[0]


def test_readme_define_space_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the example writes runs.db in the working directory
    code = _readme_block('nf.define_space("my_mlp"')
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the documented example, verbatim
    summary = namespace["summary"]
    assert summary.trials == 4 and summary.failed == 0
    assert "my_mlp" in SPACES and get_space("my_mlp") is namespace["space"]
    arch = namespace["space"].parse(summary.best.arch)
    assert 1 <= arch["layer.depth"] <= 3
    # by name, and resumed from the store in this process (the space is registered)
    by_name = nf.search(space="my_mlp", dataset="wine", strategy="random", trials=1, train={"epochs": 1},
                        storage="runs.db", name="by-name")
    assert by_name.failed == 0
    again = nf.resume("my-mlp", storage="runs.db", budget={"trials": 5})
    assert again.trials == 5


def test_redefining_replaces_and_builtin_names_are_refused() -> None:
    first = nf.define_space("tmp_space", [nf.value("w", [1, 2])])
    second = nf.define_space("tmp_space", [nf.value("w", [1, 2, 3])])
    assert get_space("tmp_space") is second and first is not second
    with pytest.raises(InvalidConfigError, match="taken by a registered space"):
        nf.define_space("nb201", [nf.value("w", [1])])


def test_space_objects_in_specs() -> None:
    assert space_reference(get_space("nb201", channels=8)) == {"name": "nb201",
                                                               "config": {"channels": 8, "cells_per_stage": 5}}
    own = PythonSpace("loose", [nf.value("w", [4, 8])])
    block = space_reference(own)
    assert block["unregistered"] and space_from_spec(block) is own  # usable in this process
    stored = {**block, "unregistered": "loose#999999"}  # as read back by another process
    with pytest.raises(InvalidConfigError, match="not registered, so this process cannot rebuild it"):
        space_from_spec(stored)
    with pytest.raises(InvalidConfigError, match="is not registered in this process"):
        space_from_spec({"name": "never_defined", "config": {}})


def test_unregistered_object_search_and_refused_resume(tmp_path: Path) -> None:
    from torch import nn

    def build(arch, num_classes, in_features, **_):
        return nn.Sequential(nn.Linear(in_features, arch["w"]), nn.ReLU(), nn.Linear(arch["w"], num_classes))

    own = PythonSpace("loose_mlp", [nf.value("w", [4, 8])], build)
    db = str(tmp_path / "r.db")
    s = nf.search(space=own, dataset="iris", strategy="random", trials=2, train={"epochs": 1}, storage=db,
                  name="loose")
    assert s.failed == 0 and np.isfinite(s.best.metrics["val_acc"])
    from nasforge.api import open_store

    with open_store(db) as store:
        spec = store.get_experiment("loose").spec
    assert spec["space"]["name"] == "loose_mlp" and spec["space"]["unregistered"]
    spec["space"]["unregistered"] = "loose_mlp#0"  # what another process sees: no object under that key
    with pytest.raises(InvalidConfigError, match="register_space"):
        nf.build_experiment(spec, "loose")
