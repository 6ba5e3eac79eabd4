"""A benchmark figure against its target, in the words every bench prints. These machines are shared
and noisy: a figure that misses its target is reported MISSED and the bench still exits 0; only a
bench that cannot run exits non-zero (`make bench` names it, after running the others)."""

from __future__ import annotations


def verdict(value: float, target: float) -> str:
    """`met` when value <= target, else `MISSED` (lower is better for every figure with a target)."""
    return "met" if value <= target else "MISSED"
