"""File names derived from user-chosen names (experiments, runs): safe, bounded, collision-free.

An experiment name is free text in the store, but when it becomes part of a path (the cached final
model ``DB.models/NAME-KEY.pt``, the one-shot run folder ``DB.oneshot/NAME/``) it must not leave its
folder (``../../x``, ``/etc/x``), name a hidden or special entry (``.``, ``..``), nor exceed file-system
limits (255 bytes per name on most systems). :func:`safe_filename` maps any name to one path component.

Example:
    >>> safe_filename("mine")
    'mine'
    >>> safe_filename("../../pwned")
    '_._.._pwned-19ebe2ef'
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["MAX_NAME_CHARS", "safe_filename"]

#: Longest name :func:`safe_filename` returns (room is left for suffixes such as ``-<key>.pt.json``).
MAX_NAME_CHARS = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# the shape of a hashed result; a safe name of this shape is hashed too, so results never collide
_HASHED = re.compile(r"(?:^|-)[0-9a-f]{8}$")


def safe_filename(name: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """One safe path component for ``name``.

    Characters other than ``A-Z a-z 0-9 . _ -`` become ``_``; a leading ``.`` becomes ``_`` (no hidden
    files, never ``.`` or ``..``); the result is at most ``max_chars`` characters. Whenever anything was
    changed or cut, ``-`` and a short hash of the full original name are appended, so two different names
    never map to the same file name (``a/b`` and ``a_b`` stay apart). A name that is already safe and
    short is returned unchanged, unless it ends like a hashed result (``-`` and 8 hex digits).

    Args:
        name: any text (an experiment name).
        max_chars: longest result, at least 16.

    Returns:
        A non-empty file name without path separators.
    """
    if max_chars < 16:
        raise ValueError(f"max_chars must be >= 16, but got {max_chars}")
    cleaned = _UNSAFE.sub("_", name)
    if cleaned.startswith("."):
        cleaned = "_" + cleaned[1:]
    if cleaned == name and 0 < len(cleaned) <= max_chars and not _HASHED.search(cleaned):
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem = cleaned[: max_chars - len(digest) - 1]
    return f"{stem}-{digest}" if stem else digest
