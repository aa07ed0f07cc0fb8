"""Label sets of simulated series: sorted (name, value) pairs, merged from parts (the world and the sources)."""

from __future__ import annotations

Labels = tuple[tuple[str, str], ...]


def labels(*base: Labels, **extra: str) -> Labels:
    merged: dict[str, str] = {}
    for part in base:
        merged.update(part)
    merged.update(extra)
    return tuple(sorted(merged.items()))
