"""Convert the official NAS-Bench-201 / NATS-Bench (topology) files into nasforge's CSV.

nasforge ships a NAS-Bench-201 table (:mod:`nasforge.evaluators.nb201_data`). Users who want the
official benchmark file instead (``NATS-tss-v1_0-3ffb9-simple`` or ``NAS-Bench-201-v1_1-096897.pth``)
convert it once with::

    pip install nats_bench
    nasforge benchmark import-nb201 PATH/TO/NATS-tss-v1_0-3ffb9-simple --out ~/.cache/nasforge/nb201

which reads it through the official API (``nats_bench.create(path, "tss")``) and writes ``nb201_core.csv`` with
the columns the ``nb201`` benchmark uses; searches then use it with ``--benchmark-file
~/.cache/nasforge/nb201/nb201_core.csv`` or ``NASFORGE_NB201_DIR=~/.cache/nasforge/nb201``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasforge.errors import BenchmarkDataError

__all__ = ["CORE_COLUMNS", "import_nb201", "rows_from_api"]

log = logging.getLogger("nasforge.nb201_import")

CORE_COLUMNS = ("index", "arch_str", "c10_valid_acc_200", "c10_test_acc_200", "c100_test_acc_200",
                "in16_test_acc_200", "params_M_c10", "c10valid_train_time_200ep_s", "c10_valid_acc_12",
                "c100_valid_acc_12", "in16_valid_acc_12")


def rows_from_api(api: Any, limit: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """One dict per architecture from an official NATS-Bench topology API object."""
    n = len(api) if limit is None else min(limit, len(api))
    rows = []
    for i in range(n):
        def info(dataset: str, hp: str, i: int = i) -> dict[str, Any]:
            return api.get_more_info(i, dataset, hp=hp, is_random=False)

        c10v200 = info("cifar10-valid", "200")
        rows.append({
            "index": i,
            "arch_str": api.arch(i) if isinstance(api.arch(i), str) else api.arch(i).tostr(),
            "c10_valid_acc_200": c10v200["valid-accuracy"],
            "c10_test_acc_200": info("cifar10", "200")["test-accuracy"],
            "c100_test_acc_200": info("cifar100", "200")["test-accuracy"],
            "in16_test_acc_200": info("ImageNet16-120", "200")["test-accuracy"],
            "params_M_c10": api.get_cost_info(i, "cifar10")["params"],
            "c10valid_train_time_200ep_s": c10v200["train-all-time"],
            "c10_valid_acc_12": info("cifar10-valid", "12")["valid-accuracy"],
            "c100_valid_acc_12": info("cifar100", "12")["valid-accuracy"],
            "in16_valid_acc_12": info("ImageNet16-120", "12")["valid-accuracy"],
        })
        if progress:
            progress(i + 1, n)
    return rows


def import_nb201(source: str | Path, out_dir: str | Path, *, api: Any = None, limit: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Write ``out_dir/nb201_core.csv`` from the official benchmark at ``source``.

    Raises:
        BenchmarkDataError: the source is missing or the ``nats_bench`` package is not installed.
    """
    if api is None:
        src = Path(source)
        if not src.exists():
            raise BenchmarkDataError(f"official NAS-Bench-201/NATS-Bench file not found: {src}")
        try:
            from nats_bench import create  # type: ignore[import-not-found]
        except ImportError:
            raise BenchmarkDataError(
                "reading the official benchmark needs its API: `pip install nats_bench`, then run this again"
            ) from None
        api = create(str(src), "tss", fast_mode=True, verbose=False)
    rows = rows_from_api(api, limit, progress)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "nb201_core.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CORE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    log.info("wrote %d architectures to %s", len(rows), path)
    return path
