"""Grading an answer against a reference: the quick deterministic grader and the guards against tricks."""

from assistant.grading.grader import Flag, Grade, Grader, PointResult, key_points_from_reference, verdict_for

__all__ = ["Flag", "Grade", "Grader", "PointResult", "key_points_from_reference", "verdict_for"]
