"""Evaluators: architecture -> frozen Result. Torch-based ones are imported lazily."""

from __future__ import annotations

from nasforge.evaluators.base import Evaluator, Objective, Observation, Result, Status, parse_objectives

__all__ = ["Evaluator", "Objective", "Observation", "Result", "Status", "parse_objectives"]
