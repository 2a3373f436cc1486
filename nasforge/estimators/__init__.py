"""AutoML estimators with scikit-learn conventions: ``ImageClassifier``, ``TabularClassifier``,
``TextClassifier`` and ``AudioClassifier``.

Example:
    >>> from nasforge.estimators import TabularClassifier
    >>> clf = TabularClassifier(time_budget_s=30)  # doctest: +SKIP
"""

from __future__ import annotations

from nasforge.estimators.audio import AudioClassifier
from nasforge.estimators.base import NASClassifierBase, NotFittedError
from nasforge.estimators.image import ImageClassifier
from nasforge.estimators.tabular import TabularClassifier
from nasforge.estimators.text import TextClassifier

__all__ = ["AudioClassifier", "ImageClassifier", "NASClassifierBase", "NotFittedError", "TabularClassifier",
           "TextClassifier"]
