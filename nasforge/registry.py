"""Name -> factory registries, in the style of timm's ``register_model``.

Registration is explicit: each module that defines components registers them at import, and the
package ``__init__`` of each role imports its modules in one visible list.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nasforge.errors import InvalidConfigError, UnknownNameError

__all__ = ["Registry", "unknown_name_message"]

T = TypeVar("T")


def unknown_name_message(kind: str, name: str, valid: list[str]) -> str:
    """Build the one-line message for an unknown name, with a close-match suggestion.

    Example:
        >>> unknown_name_message("strategy", "evolutoin", ["evolution", "random"])
        "unknown strategy 'evolutoin'; did you mean 'evolution'? Valid: evolution, random"
    """
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ";"
    return f"unknown {kind} '{name}'{hint} Valid: {', '.join(sorted(valid))}"


class Registry(Generic[T]):
    """A mapping from names to factories of one kind of component.

    Example:
        >>> reg: Registry[type] = Registry("widget")
        >>> @reg.register("box")
        ... class Box: ...
        >>> reg.get("box") is Box
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, help: str = "") -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``; a name may be registered once."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise InvalidConfigError(f"{self.kind} '{name}' is already registered")
            self._items[name] = obj
            doc = help or (getattr(obj, "__doc__", None) or "").strip().splitlines()[:1]
            self._help[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return obj

        return deco

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests that register a toy component clean up with it)."""
        self.get(name)
        del self._items[name]
        self._help.pop(name, None)

    def get(self, name: str) -> T:
        """Return the factory registered as ``name``, or raise :class:`UnknownNameError`."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(unknown_name_message(self.kind, name, list(self._items))) from None

    def describe(self, name: str) -> str:
        """One line of help for ``name``."""
        self.get(name)
        return self._help.get(name, "")

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
