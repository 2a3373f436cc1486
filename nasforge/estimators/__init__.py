"""AutoML estimators with scikit-learn conventions: ``ImageClassifier`` and ``TabularClassifier``.

Example:
    >>> from nasforge.estimators import TabularClassifier
    >>> clf = TabularClassifier(time_budget_s=30)  # doctest: +SKIP
"""

from __future__ import annotations

from nasforge.estimators.base import NASClassifierBase, NotFittedError
from nasforge.estimators.image import ImageClassifier
from nasforge.estimators.tabular import TabularClassifier

__all__ = ["ImageClassifier", "NASClassifierBase", "NotFittedError", "TabularClassifier"]
