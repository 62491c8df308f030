"""Retries and timeouts per step: run options, never part of a hashed manifest.

A retry policy or a timeout changes how hard the engine tries, not what is computed: the same
operation, config and inputs give the same execution hash and key with or without them. So they
live in the run's options (``Engine.options``, ``catenary run --retries/--step-timeout/--options``),
outside the workflow's hashed ``data`` (docs/manifest.md, "Retries and timeouts").

Every attempt is recorded as an :class:`~catenary.model.results.Attempt` of its execution; the
execution itself ends ``completed`` or ``failed`` once, after the last attempt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from catenary.errors import BadInputError


@dataclass(frozen=True)
class StepPolicy:
    """How one step is tried: up to ``attempts`` times, waiting ``backoff`` seconds before the
    second attempt and twice as long before each later one; only failures whose exception
    class name is in ``retry_on`` are retried (empty: any failure the operation raised, a
    timeout included). ``timeout``: seconds an attempt may run (None: the node's
    ``operation_timeout``)."""

    attempts: int = 1
    backoff: float = 0.0
    retry_on: tuple[str, ...] = ()
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise BadInputError(f"attempts must be at least 1, got {self.attempts}")
        if self.backoff < 0:
            raise BadInputError(f"backoff must be 0 or more seconds, got {self.backoff:g}")
        if self.timeout is not None and self.timeout <= 0:
            raise BadInputError(f"a step timeout must be over 0 seconds, got {self.timeout:g}")

    def retries(self, error_class: str | None, attempt: int) -> bool:
        """Whether a failed ``attempt`` (1-based) of class ``error_class`` is tried again. A
        failure the engine found (a type mismatch, an unencodable output) has no class: it
        would fail the same way again."""
        if error_class is None or attempt >= self.attempts:
            return False
        return not self.retry_on or error_class in self.retry_on

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed ``attempt`` (1-based) before the next one."""
        return float(self.backoff * 2.0 ** (attempt - 1))


@dataclass(frozen=True)
class RunOptions:
    """Step policies of a run: ``default`` for every step, overridden by ``steps`` keyed by
    operation name (``std/hash``) or position (``SEGMENT.STEP``, e.g. ``2.0``)."""

    default: StepPolicy = field(default_factory=StepPolicy)
    steps: Mapping[str, StepPolicy] = field(default_factory=dict)

    def policy(self, segment: int, step: int, operation: str) -> StepPolicy:
        return self.steps.get(f"{segment}.{step}") or self.steps.get(operation) or self.default

    @classmethod
    def from_json(cls, text: str, where: str, default: StepPolicy | None = None) -> RunOptions:
        """Parse ``{"default": POLICY, "steps": {KEY: POLICY}}`` where a POLICY is
        ``{"attempts", "backoff", "retry_on", "timeout"}`` (each optional)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadInputError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(data, dict) or set(data) - {"default", "steps"}:
            raise BadInputError(f'{where}: expected {{"default": {{...}}, "steps": {{KEY: {{...}}}}}}')
        steps = data.get("steps", {})
        if not isinstance(steps, dict):
            raise BadInputError(f"{where}.steps: expected a map of step policies")
        base = _policy(data["default"], f"{where}.default") if "default" in data else default
        return cls(
            base or StepPolicy(),
            {str(key): _policy(value, f"{where}.steps.{key}") for key, value in steps.items()},
        )


def _policy(data: Any, where: str) -> StepPolicy:
    known = {"attempts", "backoff", "retry_on", "timeout"}
    if not isinstance(data, dict) or set(data) - known:
        raise BadInputError(f"{where}: expected a map with keys among {sorted(known)}")
    retry_on = data.get("retry_on", [])
    if not isinstance(retry_on, list) or not all(isinstance(name, str) for name in retry_on):
        raise BadInputError(f"{where}.retry_on: expected a list of exception class names")
    try:
        return StepPolicy(
            int(data.get("attempts", 1)),
            float(data.get("backoff", 0.0)),
            tuple(retry_on),
            None if data.get("timeout") is None else float(data["timeout"]),
        )
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"{where}: {exc}") from exc
    except BadInputError as exc:
        raise BadInputError(f"{where}: {exc}") from exc
