import numpy as np
import pytest

from assistant.retrieval.fusion import max_per_group, max_rrf_score, reciprocal_rank_fusion, top_k


def test_rrf_hand_checked():
    fused = dict(reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=0))
    assert fused == pytest.approx({1: 1 / 1 + 1 / 2, 2: 1 / 2, 3: 1 / 3 + 1 / 1})


def test_rrf_weights_and_order():
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[2.0, 1.0], k=1)
    assert [item for item, _ in fused] == ["a", "b"]
    assert fused[0][1] == pytest.approx(2 / 2 + 1 / 3)


def test_rrf_ties_are_deterministic_by_first_appearance():
    fused = reciprocal_rank_fusion([[5, 7], [7, 5]])
    assert [item for item, _ in fused] == [5, 7]


def test_rrf_rejects_mismatched_weights():
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1], [2]], weights=[1.0])


def test_rrf_matches_brute_force_on_random_rankings():
    rng = np.random.default_rng(0)
    for _ in range(50):
        rankings = [list(rng.permutation(20)[: rng.integers(1, 20)]) for _ in range(3)]
        weights = list(rng.uniform(0, 2, size=3))
        expected = {}
        for ranking, w in zip(rankings, weights):
            for pos, item in enumerate(ranking):
                expected[item] = expected.get(item, 0) + w / (60 + pos + 1)
        fused = reciprocal_rank_fusion(rankings, weights)
        assert dict(fused) == pytest.approx(expected)
        scores = [s for _, s in fused]
        assert scores == sorted(scores, reverse=True)
        assert max(scores) <= max_rrf_score(weights) + 1e-12


def test_top_k_matches_argsort():
    rng = np.random.default_rng(1)
    for n in (1, 5, 100):
        scores = rng.normal(size=n).astype(np.float32)
        for k in (1, 3, n, n + 5):
            assert list(top_k(scores, k)) == list(np.argsort(-scores, kind="stable")[:k])
    assert list(top_k(np.array([1.0, 1.0, 0.5]), 2)) == [0, 1]
    assert top_k(np.array([1.0]), 0).size == 0


def test_max_per_group():
    out = max_per_group(np.array([0.1, 0.9, 0.3, 0.2]), np.array([0, 0, 2, 2]), 3)
    assert out[0] == pytest.approx(0.9) and out[2] == pytest.approx(0.3) and out[1] == -np.inf
