"""The one error hierarchy of nasforge.

Every error a user can cause derives from :class:`NasforgeError`; where a builtin category is
natural the class also derives from it (``KeyError`` for unknown names, ``ValueError`` for bad
values), so ``except ValueError`` in user code keeps working.
"""

from __future__ import annotations

__all__ = [
    "BenchmarkDataError",
    "DatasetUnavailableError",
    "ExperimentLockedError",
    "ExperimentNotFoundError",
    "InvalidArchitectureError",
    "InvalidConfigError",
    "NasforgeError",
    "NotFittedError",
    "SearchInterrupted",
    "StorageError",
    "TrialFailedError",
    "UnknownNameError",
]


class NasforgeError(Exception):
    """Base class of every error raised by nasforge on purpose."""


class UnknownNameError(NasforgeError, KeyError):
    """A name (space, strategy, dataset, column, ...) is not registered.

    The message lists the valid names and, when one is close, suggests it.
    """

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0]) if self.args else ""


class InvalidArchitectureError(NasforgeError, ValueError):
    """An architecture does not belong to its search space; the message names the bad part."""


class InvalidConfigError(NasforgeError, ValueError):
    """A setting is out of its allowed range; the message states the rule and the value."""


class DatasetUnavailableError(NasforgeError, FileNotFoundError):
    """A dataset's files are not on this machine; the message says how to provide them."""


class BenchmarkDataError(NasforgeError, FileNotFoundError):
    """A tabular benchmark file is missing or malformed; the message says where data comes from."""


class StorageError(NasforgeError):
    """The experiment store could not be read or written."""


class ExperimentNotFoundError(StorageError, KeyError):
    """No experiment of that name is in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TrialFailedError(NasforgeError):
    """An evaluation produced no usable result (for example a NaN loss)."""


class NotFittedError(NasforgeError, AttributeError):
    """An estimator was used before ``fit``."""


class ExperimentLockedError(StorageError):
    """Another live process runs this experiment (it holds the experiment's lease)."""


class SearchInterrupted(KeyboardInterrupt):  # noqa: N818 - an interrupt, not an error
    """A search stopped by Ctrl-C (SIGINT) or SIGTERM after recording its state.

    It derives from ``KeyboardInterrupt`` so ``except Exception`` never swallows it.

    Attributes:
        experiment: the experiment's name.
        storage: the store file (None for in-memory searches).
        signal_name: ``"SIGINT"`` or ``"SIGTERM"``.
    """

    def __init__(self, experiment: str, storage: str | None, signal_name: str = "SIGINT") -> None:
        self.experiment = experiment
        self.storage = storage
        self.signal_name = signal_name
        super().__init__(self.message())

    def message(self) -> str:
        where = f" --storage {self.storage}" if self.storage and self.storage != "nasforge.db" else ""
        return (f"interrupted ({self.signal_name}): experiment '{self.experiment}' stopped; finished trials are "
                f"stored and the trial in flight will be rerun. Continue with: nasforge resume "
                f"{self.experiment}{where}")
