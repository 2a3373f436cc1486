"""Zero-cost proxies: score untrained networks (synflow, snip, jacob_cov, naswot), an evaluator
that computes them on a real minibatch, and a strategy that warm-starts a search with them."""

from __future__ import annotations

from nasforge.proxies.evaluator import ZeroCostEvaluator
from nasforge.proxies.scores import PROXIES, jacob_cov, naswot, snip, synflow

__all__ = ["PROXIES", "ZeroCostEvaluator", "jacob_cov", "naswot", "snip", "synflow"]
