"""Grading an answer against a reference: the quick deterministic grader and the guards against tricks."""

from assistant.grading.grader import Grade, Grader, PointResult, key_points_from_reference, verdict_for

__all__ = ["Grade", "Grader", "PointResult", "key_points_from_reference", "verdict_for"]
