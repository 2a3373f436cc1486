"""The NAS-Bench-201 table that ships inside nasforge (``nasforge/evaluators/data/nb201.npz``).

All 15,625 cells with the columns the ``nb201*`` benchmarks read: the 200-epoch NATS-Bench
accuracies, the 12-epoch NB201 v1_1 validation accuracies, parameters, training time, the
NASWOT score and 27 latency columns (ms). ``nb201.json`` next to it records where each column
comes from, the licences, and the sha256 checksums of the data file and of the CSVs it was made
from; :func:`load_packaged_nb201` checks the data file against that checksum. The repository's
``scripts/make_nb201_data.py`` regenerates both files from the CSVs; the values read back are
bit-for-bit the values a CSV reader gets from those files.

Example:
    >>> table = load_packaged_nb201()
    >>> len(table), round(float(table.column("c10_test_acc_200").max()), 4)
    (15625, 94.3733)
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasforge.errors import BenchmarkDataError

if TYPE_CHECKING:
    from nasforge.evaluators.tabular import Table

__all__ = ["DATA_DIR", "load_packaged_nb201", "packaged_nb201_info", "packaged_nb201_path"]

DATA_DIR = Path(__file__).resolve().parent / "data"
_NAN_INT = np.iinfo(np.int64).min


def packaged_nb201_path() -> Path:
    """Path of the packaged data file ``nb201.npz``."""
    return DATA_DIR / "nb201.npz"


def packaged_nb201_info() -> dict[str, Any]:
    """The contents of ``nb201.json``: columns and their sources, licences, checksums."""
    meta = DATA_DIR / "nb201.json"
    if not meta.is_file():
        raise BenchmarkDataError(f"nasforge's packaged NAS-Bench-201 data is missing ({meta.name} not found in "
                                 f"{DATA_DIR}); reinstall nasforge")
    return dict(json.loads(meta.read_text()))


@functools.lru_cache(maxsize=1)
def load_packaged_nb201() -> Table:
    """The packaged NB201 table (read once per process, checksum verified).

    Raises:
        BenchmarkDataError: the data file is missing or does not match its recorded sha256.
    """
    from nasforge.evaluators.tabular import Table

    path = packaged_nb201_path()
    info = packaged_nb201_info()
    if not path.is_file():
        raise BenchmarkDataError(f"nasforge's packaged NAS-Bench-201 data is missing ({path.name} not found in "
                                 f"{DATA_DIR}); reinstall nasforge")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != info.get("sha256"):
        raise BenchmarkDataError(f"nasforge's packaged NAS-Bench-201 data {path.name} is damaged: sha256 {digest} "
                                 f"differs from {info.get('sha256')} recorded in nb201.json; reinstall nasforge")
    import io

    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        arch_strs = bytes(z["arch_str"]).decode("ascii").split("\n")
        names = [str(n) for n in z["names"]]
        scales = z["scales"]
        columns: dict[str, np.ndarray] = {}
        for k, name in enumerate(names):
            values = z[f"col{k}"]
            scale = int(scales[k])
            if scale < 0:
                columns[name] = values.astype(np.float64)
            else:
                # ints / 10**scale rounds the exact decimal once, like float() of the CSV cell
                columns[name] = np.where(values == _NAN_INT, np.nan, values.astype(np.float64) / 10.0**scale)
    return Table(path, arch_strs, columns)
