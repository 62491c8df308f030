"""The runtime that steps runs and records executions."""

from catenary.engine.runtime import DEFAULT_MAX_VALUE_SIZE, Engine, StepResult

__all__ = ["DEFAULT_MAX_VALUE_SIZE", "Engine", "StepResult"]
