"""Architectures: immutable label -> value mappings with one canonical form.

Everything that stores, compares or deduplicates architectures uses :attr:`Architecture.key`,
a compact JSON text with sorted labels. Search spaces may add a human form on top (the
NAS-Bench-201 space writes the official ``|op~0|+...`` string), but the key is the identity.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Union

__all__ = ["Architecture", "Value"]

Value = Union[str, int, float, bool, tuple[int, ...]]


def _freeze(value: Any) -> Value:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    # numpy scalars and the like
    if hasattr(value, "item"):
        return _freeze(value.item())
    return value


class Architecture(Mapping[str, Value]):
    """An immutable, hashable mapping from dimension labels to chosen values.

    Example:
        >>> a = Architecture({"width": 32, "op": "conv3x3"})
        >>> a.key
        '{"op":"conv3x3","width":32}'
        >>> a == Architecture.from_key(a.key)
        True
    """

    __slots__ = ("_data", "_hash", "_key")

    def __init__(self, choices: Mapping[str, Any]) -> None:
        data = {str(k): _freeze(v) for k, v in choices.items()}
        self._data = dict(sorted(data.items()))
        self._key = json.dumps(self._data, separators=(",", ":"))
        self._hash = hash(self._key)

    @classmethod
    def from_key(cls, key: str) -> Architecture:
        """Rebuild an architecture from its canonical :attr:`key`."""
        return cls(json.loads(key))

    @property
    def key(self) -> str:
        """Canonical JSON text: sorted labels, no spaces. Stable across runs and machines."""
        return self._key

    def replace(self, **changes: Any) -> Architecture:
        """A copy with some labels changed (labels may contain any character via ``**dict``)."""
        data = dict(self._data)
        data.update(changes)
        return Architecture(data)

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._data.items()}

    def __getitem__(self, label: str) -> Value:
        return self._data[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Architecture):
            return self._key == other._key
        return NotImplemented

    def __repr__(self) -> str:
        return f"Architecture({self._key})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Architecture.from_key, (self._key,))
