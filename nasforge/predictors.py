"""Performance predictors for model-based search: an ensemble of small MLPs in NumPy.

The predictor boundary is NASLib's good idea: ``fit(X, y)`` then ``predict(X)`` returning one
row of predictions per ensemble member, so an acquisition function can use the spread. The
members are trained *together* as one batched tensor program (one ``einsum`` per layer for all
members), which keeps a BANANAS ask at a few milliseconds on one CPU core.

Each member has its own initialization and its own bootstrap-free view of the data: diversity
comes from the random initialization alone, as in BANANAS (White et al. 2021).
"""

from __future__ import annotations

import numpy as np

from nasforge.errors import InvalidConfigError, NotFittedError

__all__ = ["MLPEnsemble"]


class MLPEnsemble:
    """``n_members`` MLPs (ReLU, mean-squared error, Adam) trained on standardized targets.

    Args:
        n_members: ensemble size (BANANAS uses 5).
        hidden: width of each hidden layer.
        layers: number of hidden layers.
        epochs: full-batch Adam steps.
        lr: Adam learning rate.
        weight_decay: L2 penalty on weights.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((40, 6)); y = X @ np.arange(6.0)
        >>> m = MLPEnsemble(n_members=3, epochs=300).fit(X, y, rng)
        >>> m.predict(X).shape
        (3, 40)
    """

    def __init__(self, n_members: int = 5, hidden: int = 32, layers: int = 2, epochs: int = 200, lr: float = 0.01,
                 weight_decay: float = 1e-4) -> None:
        if n_members < 1 or hidden < 1 or layers < 1 or epochs < 1 or lr <= 0:
            raise InvalidConfigError(
                "n_members, hidden, layers, epochs >= 1 and lr > 0 must hold, but got "
                f"(n_members={n_members}, hidden={hidden}, layers={layers}, epochs={epochs}, lr={lr})"
            )
        self.n_members = n_members
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.weights_: list[np.ndarray] | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> MLPEnsemble:
        """Train every member on ``(X, y)`` from a fresh random initialization drawn from ``rng``."""
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64).ravel()
        if X.ndim != 2 or len(X) != len(y) or len(y) < 2:
            raise InvalidConfigError(f"fit needs X of shape (n, d) and y of shape (n,) with n >= 2, "
                                     f"but got X {X.shape}, y {y.shape}")
        # Columns constant over the training set carry no signal (with sparse path encodings most
        # are all-zero early on); dropping them makes every step cheaper.
        self.keep_ = np.flatnonzero(X.max(axis=0) > X.min(axis=0))
        if len(self.keep_) == 0:
            self.keep_ = np.arange(min(1, X.shape[1]))
        X = np.ascontiguousarray(X[:, self.keep_])
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
        t = ((y - self.y_mean_) / self.y_std_).astype(np.float32)[None, :, None]  # (1, n, 1), broadcast over members
        m, d, h = self.n_members, X.shape[1], self.hidden
        shapes = [(d, m * h), (m * h,)]  # first layer of all members as one matrix: one BLAS call
        for _ in range(self.layers - 1):
            shapes += [(m, h, h), (m, 1, h)]
        shapes += [(m, h, 1), (m, 1, 1)]
        # Parameters and gradients live in two flat buffers (the lists hold views), so one Adam
        # step is a handful of vector operations whatever the depth.
        sizes = [int(np.prod(s)) for s in shapes]
        flat, gflat = np.zeros(sum(sizes), np.float32), np.zeros(sum(sizes), np.float32)
        params: list[np.ndarray] = []
        grads: list[np.ndarray] = []
        offset = 0
        for shape, size in zip(shapes, sizes):
            params.append(flat[offset:offset + size].reshape(shape))
            grads.append(gflat[offset:offset + size].reshape(shape))
            offset += size
        for i in range(0, len(shapes), 2):
            fan_in = d if i == 0 else h
            params[i][...] = rng.normal(0.0, np.sqrt((2.0 if i < len(shapes) - 2 else 1.0) / fan_in), size=shapes[i])
        decay = np.zeros_like(flat)
        for i in range(0, len(shapes), 2):
            decay[sum(sizes[:i]):sum(sizes[:i + 1])] = self.weight_decay
        mom, vel = np.zeros_like(flat), np.zeros_like(flat)
        b1, b2, eps, n = 0.9, 0.999, 1e-7, len(y)
        for step in range(1, self.epochs + 1):
            a0 = np.maximum(X @ params[0] + params[1], 0.0)
            acts = [a0.reshape(n, m, h).transpose(1, 0, 2)]  # (m, n, h)
            for i in range(2, len(params) - 2, 2):
                acts.append(np.maximum(np.matmul(acts[-1], params[i]) + params[i + 1], 0.0))
            g = (2.0 / n) * (np.matmul(acts[-1], params[-2]) + params[-1] - t)
            for i in range(len(params) - 2, 1, -2):
                a_in = acts[i // 2 - 1]
                grads[i][...] = np.matmul(a_in.transpose(0, 2, 1), g)
                grads[i + 1][...] = g.sum(axis=1, keepdims=True)
                g = np.matmul(g, params[i].transpose(0, 2, 1)) * (a_in > 0)
            g0 = g.transpose(1, 0, 2).reshape(n, m * h)
            grads[0][...] = X.T @ g0
            grads[1][...] = g0.sum(axis=0)
            gflat += decay * flat
            mom *= b1
            mom += (1 - b1) * gflat
            vel *= b2
            vel += (1 - b2) * gflat * gflat
            flat -= (self.lr / (1 - b1 ** step)) * mom / (np.sqrt(vel / (1 - b2 ** step)) + eps)
        self.weights_ = params
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every member, shape ``(n_members, len(X))``, in the units of ``y``."""
        if self.weights_ is None:
            raise NotFittedError("This MLPEnsemble instance is not fitted yet; call fit(X, y, rng) first")
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float32)[:, self.keep_])
        params, m = self.weights_, self.n_members
        a = np.maximum(X @ params[0] + params[1], 0.0)
        a = a.reshape(len(X), m, -1).transpose(1, 0, 2)
        for i in range(2, len(params) - 2, 2):
            a = np.maximum(np.matmul(a, params[i]) + params[i + 1], 0.0)
        out = (np.matmul(a, params[-2]) + params[-1])[..., 0]
        return out.astype(np.float64) * self.y_std_ + self.y_mean_
