"""A rich console that writes through a management command's stdout (so call_command captures it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import OutputWrapper
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


class _Stream:
    """File-like adapter so rich writes through Django's OutputWrapper (and call_command captures it)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        self.wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.wrapper, "isatty", lambda: False)())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapper, name)


def console_for(stdout: OutputWrapper) -> Console:
    return Console(file=_Stream(stdout), highlight=False, soft_wrap=True)  # type: ignore[arg-type]


def progress_for(stdout: OutputWrapper) -> Progress:
    """The long commands' progress display (spinner, phase, bar, done/total, elapsed) on ``console_for(stdout)``."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console_for(stdout))
