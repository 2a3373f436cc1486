"""Helpers shared by the model-based and local strategies of issue 3 (private module).

Two things waste queries on NAS-Bench-201-like cells: asking for an architecture that is
*equivalent* to one already evaluated (same set of input-to-output paths, i.e. the same path
encoding: they differ only in edges that never reach the output), and asking for a cell with no
input-to-output path at all (its accuracy is chance). :class:`Dedup` catches both through the public space
contract: ``SearchSpace.equivalence_key`` (the path encoding where a space has one, else the
canonical key) and ``SearchSpace.is_connected`` (always True for spaces without ``none``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nasforge.arch import Architecture
from nasforge.spaces.base import SearchSpace

__all__ = ["Dedup", "encoding_for", "fixed_kernel_gp", "gp_posterior", "parse_fidelities", "single_thread_blas"]


def single_thread_blas():  # type: ignore[no-untyped-def]
    """A context limiting BLAS to one thread: the models' matrices are tiny, so one thread is
    fastest and does not fight the evaluations' processes for cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def fixed_kernel_gp(x: np.ndarray, y: np.ndarray, *, length_scale: float, noise: float):  # type: ignore[no-untyped-def]
    """A scikit-learn GP fitted with a fixed Matern-5/2 kernel (constant x Matern + white noise).

    No marginal-likelihood search: a fit is one Cholesky, so a proposal costs milliseconds;
    targets are standardized (``normalize_y``) so one length scale serves every objective.
    """
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0) * Matern(length_scale=length_scale, nu=2.5) + WhiteKernel(noise)
    return GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None).fit(x, y)


def gp_posterior(x: np.ndarray, y: np.ndarray, xc: np.ndarray, *, length_scale: float,
                 noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation at ``xc`` of one :func:`fixed_kernel_gp` per column of ``y``.

    The same model as fitting ``fixed_kernel_gp(x, y[:, j], ...)`` for every column ``j`` and calling
    ``predict(xc, return_std=True)`` (equal to rounding), but the kernel matrices, the Cholesky factor
    and the variance solve are shared by the columns: they depend on the inputs only, because the
    kernel is fixed and the targets are standardized. Returns two ``(len(xc), y.shape[1])`` arrays.
    """
    from scipy.linalg import cho_solve, cholesky, solve_triangular

    def matern52(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = a / length_scale, b / length_scale  # squared distances by one matrix product
        sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
        d = np.sqrt(5.0 * np.clip(sq, 0.0, None))
        return (1.0 + d + d * d / 3.0) * np.exp(-d)

    y = np.asarray(y, dtype=np.float64).reshape(len(x), -1)
    centre, scale = y.mean(axis=0), y.std(axis=0)
    scale = np.where(scale == 0.0, 1.0, scale)  # as scikit-learn's normalize_y
    k = matern52(x, x)
    k[np.diag_indices_from(k)] += noise + 1e-10  # white noise + scikit-learn's default jitter (alpha)
    chol = cholesky(k, lower=True)
    alpha = cho_solve((chol, True), (y - centre) / scale)
    ks = matern52(xc, x)
    mean = ks @ alpha * scale + centre
    v = solve_triangular(chol, ks.T, lower=True)
    var = np.clip(1.0 + noise - np.einsum("ij,ij->j", v, v), 0.0, None)
    return mean, np.sqrt(var)[:, None] * scale[None, :]


def normalized_archive(archive: dict[Architecture, tuple[float, ...]]) -> tuple[list[Architecture], np.ndarray]:
    """The archive's architectures and their objective values min-max normalized to 0-1 per objective
    (on the objectives every entry has; a constant objective stays 0)."""
    archs = list(archive)
    width = min(len(v) for v in archive.values())
    vals = np.array([archive[a][:width] for a in archs], dtype=np.float64)
    lo, hi = vals.min(axis=0), vals.max(axis=0)
    return archs, (vals - lo) / np.where(hi > lo, hi - lo, 1.0)


def encoding_for(space: SearchSpace) -> str:
    """The richest encoding the space offers for predictors: ``path`` if available, else ``onehot``."""
    return "path" if "path" in space.encoding_names() else "onehot"


class Dedup:
    """Equivalence keys of architectures: path encoding bytes where the space has one.

    Example:
        >>> from nasforge.spaces import get_space
        >>> d = Dedup(get_space("nb201"), skip_disconnected=True)
        >>> a = get_space("nb201").parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        >>> d.useless(a)
        True
    """

    def __init__(self, space: SearchSpace, *, skip_disconnected: bool = True) -> None:
        self.space = space
        self.skip_disconnected = skip_disconnected
        self.keys: set[bytes | str] = set()

    def key(self, arch: Architecture) -> bytes | str:
        """The space's equivalence key (see :meth:`~nasforge.spaces.base.SearchSpace.equivalence_key`)."""
        return self.space.equivalence_key(arch)

    def add(self, arch: Architecture) -> None:
        self.keys.add(self.key(arch))

    def useless(self, arch: Architecture) -> bool:
        """Disconnected (when skipping those) or equivalent to something already added."""
        if self.skip_disconnected and not self.space.is_connected(arch):
            return True
        return self.key(arch) in self.keys

    def filter(self, archs: Iterable[Architecture]) -> list[Architecture]:
        """Unique, useful architectures in order (equivalents within ``archs`` are dropped too)."""
        out, local = [], set()
        for a in archs:
            k = self.key(a)
            if k in local or self.useless(a):
                continue
            local.add(k)
            out.append(a)
        return out


def parse_fidelities(fidelities: Iterable[float] | float | None) -> tuple[float, ...]:
    """A sorted tuple of distinct positive fidelities (epochs); ``InvalidConfigError`` otherwise."""
    from nasforge.errors import InvalidConfigError

    if fidelities is None:
        return ()
    items = [fidelities] if isinstance(fidelities, (int, float)) else list(fidelities)
    try:
        values = sorted({float(f) for f in items})
    except (TypeError, ValueError):
        raise InvalidConfigError(f"fidelities must be numbers (epochs), but got {fidelities!r}") from None
    if not values or values[0] <= 0:
        raise InvalidConfigError(f"fidelities must be positive epochs, but got {fidelities!r}")
    return tuple(int(v) if v.is_integer() else v for v in values)
