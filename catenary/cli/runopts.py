"""The options of ``run`` and ``runs retry`` that say how a run is driven, not what it computes:
``--parallel`` (ready segments at once) and the step policies (retries and timeouts,
catenary.engine.policy). None of them changes an id (docs/manifest.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from catenary.engine.policy import RunOptions


def drive_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--parallel, --retries, --retry-backoff, --retry-on, --step-timeout, --options."""
    options = [
        click.option(
            "--parallel",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            metavar="N",
            help="Run up to N segments at once, each as soon as the segments it reads have run "
            "(committed in index order: the same records as one at a time). Local only.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=None,
            metavar="N",
            help="Try a failing step up to N more times (every attempt is kept: exec history). Local only.",
        ),
        click.option(
            "--retry-backoff",
            "backoff",
            type=click.FloatRange(min=0),
            default=None,
            metavar="SECONDS",
            help="Wait this long before the first retry, twice as long before each next (default 0).",
        ),
        click.option(
            "--retry-on",
            multiple=True,
            metavar="ERROR",
            help="Retry only failures raising this exception class (e.g. ConnectionError, "
            "OperationTimeout); repeat for several (default: any).",
        ),
        click.option(
            "--step-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            metavar="SECONDS",
            help="Fail an attempt of a step that runs longer than this (default: --operation-timeout).",
        ),
        click.option(
            "--options",
            "options_file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            default=None,
            metavar="FILE",
            help='Step policies per step as JSON: {"default": P, "steps": {"OP NAME" or "SEG.STEP": P}} '
            'with P = {"attempts", "backoff", "retry_on", "timeout"}; the flags above set the default.',
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def run_options(
    retries: int | None,
    backoff: float | None,
    retry_on: tuple[str, ...],
    step_timeout: float | None,
    options_file: Path | None,
) -> RunOptions | None:
    """The run options the flags give; None when none was given (the node's defaults)."""
    if retries is None and backoff is None and not retry_on and step_timeout is None and options_file is None:
        return None
    from catenary.engine.policy import RunOptions, StepPolicy

    default = StepPolicy((retries or 0) + 1, backoff or 0.0, tuple(retry_on), step_timeout)
    if options_file is None:
        return RunOptions(default)
    return RunOptions.from_json(options_file.read_text(), f"--options {options_file}", default)


def is_local_drive(parallel: int, options: RunOptions | None) -> bool:
    """Whether the run needs the local engine (a served node drives runs its own way)."""
    return parallel > 1 or options is not None
