"""Ranking math as pure functions over row numbers and scores."""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the k highest scores, best first (ties: lower row first)."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < scores.shape[0] else np.arange(scores.shape[0])
    return part[np.lexsort((part, -scores[part]))]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hashable]], weights: Sequence[float] | None = None, k: float = 60.0
) -> list[tuple[Hashable, float]]:
    """Weighted reciprocal-rank fusion (Cormack et al. 2009).

    Each ranking lists items best first; an item at 0-based rank r in ranking j adds
    ``weights[j] / (k + r + 1)``. Returns (item, fused score) best first; ties go to the item that
    appears first in the earliest ranking, so the result is deterministic.
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError(f"got {len(weights)} weights for {len(rankings)} rankings")
    fused: dict[Hashable, float] = {}
    first_seen: dict[Hashable, tuple[int, int]] = {}
    for j, (ranking, weight) in enumerate(zip(rankings, weights)):
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank + 1)
            first_seen.setdefault(item, (j, rank))
    return sorted(fused.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))


def max_rrf_score(weights: Sequence[float], k: float = 60.0) -> float:
    """The fused score of an item ranked first everywhere: divides scores into [0, 1]."""
    return sum(weights) / (k + 1)


def max_per_group(scores: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Best score of each group (e.g. of each record over its answer chunks); -inf where a group has none."""
    out = np.full(n_groups, -np.inf, dtype=np.float32)
    np.maximum.at(out, groups, scores.astype(np.float32))
    return out
