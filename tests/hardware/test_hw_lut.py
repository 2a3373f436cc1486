"""The per-op latency look-up table: traced ops, a per-device cache outside the repo, predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nasforge.hardware import LatencyLUT, default_cache_dir, trace_ops
from nasforge.spaces import get_space

SPACE = get_space("nb201", channels=8, cells_per_stage=1)
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
SHAPE = (3, 16, 16)


def _net(text: str) -> torch.nn.Module:
    return SPACE.build(SPACE.parse(text))


def test_trace_lists_leaf_modules_and_glue_ops() -> None:
    calls = trace_ops(_net(ALL_CONV), SHAPE)
    keys = [c.key for c in calls]
    assert sum("Conv2d(8, 8, kernel_size=(3, 3)" in k for k in keys) == 6  # six 3x3 edges in the first cell
    assert any(k.startswith("aten:aten.add.Tensor") for k in keys)  # the sums that join a cell's edges
    assert any(k == "container:call" for k in keys)


def test_cache_is_per_device_outside_repo_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASFORGE_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path
    lut = LatencyLUT(repeats=3, min_repeat_s=0.0005)
    slow = lut.predict(_net(ALL_CONV), SHAPE)
    fast = lut.predict(_net(ALL_SKIP), SHAPE)
    assert slow > fast > 0  # predicted from op entries: convolutions cost more than identities
    assert lut.n_measured > 0 and lut.path.is_file() and tmp_path in lut.path.parents
    repo = Path(__file__).resolve().parents[2]
    assert repo not in lut.path.parents
    # a new table object on the same device finds every entry in the cache and times nothing
    again = LatencyLUT(repeats=3, min_repeat_s=0.0005)
    assert again.predict(_net(ALL_CONV), SHAPE) == pytest.approx(slow)
    assert again.n_measured == 0
    # another setting (batch size) is another table
    assert LatencyLUT(batch_size=4, repeats=3).path != lut.path


def test_missing_entries_can_be_refused(tmp_path: Path) -> None:
    lut = LatencyLUT(cache_dir=tmp_path, repeats=3, min_repeat_s=0.0005, persist=False)
    from nasforge.errors import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="not in the latency table"):
        lut.predict(_net(ALL_CONV), SHAPE, measure_missing=False)
    lut.predict(_net(ALL_CONV), SHAPE)
    assert not lut.path.exists()  # persist=False never writes
