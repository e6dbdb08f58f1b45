"""Progress of long work on the command line (issue 15): a bar with an estimate on a terminal,
a plain line now and then otherwise (a log file, a scheduled job), and how to resume when stopped.

Services report ``(done, total)`` through a plain callback (``total`` None when unknown, e.g.
records still being read from a file); this module only renders it, on stderr, so that
``--json`` output on stdout stays one document.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

import click

from councilbot.errors import InvalidInput

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

Report = Callable[[int, "int | None"], None]
# Not a terminal: one line at most this often (and one at the end).
PLAIN_INTERVAL_SECONDS = 10.0


class ProgressDisplay:
    """Renders ``(done, total)`` reports for one piece of work named ``label`` (e.g. 「ベクトルを作成中」)."""

    def __init__(
        self,
        label: str,
        *,
        unit: str = "件",
        stream: TextIO | None = None,
        interactive: bool | None = None,
        interval: float = PLAIN_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.total: int | None = None
        self._bar: ProgressBar[int] | None = None  # click's bar, once the total is known on a terminal
        self._last_line = float("-inf")
        self._said: tuple[int, int | None] | None = None  # what the last plain line reported
        # What to say if the work stops now; the work may change it as it goes (e.g. once it has committed).
        self.resume: str | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total if total is not None else self.total
        if self.interactive:
            self._draw()
        elif self.clock() - self._last_line >= self.interval:
            self._line()

    def finish(self) -> None:
        """The work is done: end the bar's line, or give the last count if no line has yet."""
        if self._bar is not None:
            self._bar.render_finish()
        elif self.interactive:
            if self.done:
                click.echo("", file=self.stream)
        elif self.done and self._said != (self.done, self.total):
            self._line()

    def _draw(self) -> None:
        if self.total is None:  # no estimate without a total: a count that updates in place
            click.echo(f"\r{self.label} {self.done:,}{self.unit}", nl=False, file=self.stream)
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=self.total, label=self.label, file=self.stream, show_eta=True, show_pos=True
            )
            self._bar.render_progress()
        self._bar.update(self.done - self._bar.pos)

    def _line(self) -> None:
        self._last_line = self.clock()
        self._said = (self.done, self.total)
        if self.total:
            line = f"{self.label} {self.done:,}/{self.total:,}{self.unit}（{100 * self.done // self.total}%）"
            elapsed = self.clock() - self.started
            if 0 < self.done < self.total and elapsed > 0:
                line += f"、残り約{_duration((self.total - self.done) * elapsed / self.done)}"
        else:
            line = f"{self.label} {self.done:,}{self.unit}"
        click.echo(line, file=self.stream)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))}秒"
    minutes = round(seconds / 60)
    return f"{minutes}分" if minutes < 60 else f"{minutes // 60}時間{minutes % 60}分"


@contextmanager
def progress(label: str, *, resume: str | None = None, unit: str = "件", **options) -> Iterator[ProgressDisplay]:  # type: ignore[no-untyped-def]
    """``with progress("ベクトルを作成中", resume="…") as report: service(..., progress=report)``.

    If the work stops (Ctrl+C, an error) after it has begun, ``resume`` — what to run to go on, and
    what was kept — is said on stderr before the error is reported as usual.
    """
    display = ProgressDisplay(label, unit=unit, **options)
    display.resume = resume
    try:
        yield display
    except BaseException as exc:
        if display.done:  # refused before any work (bad input): the error alone says it all
            if display.interactive:
                click.echo("", file=display.stream)  # leave the bar's line
            # Bad input met on the way is a refusal, not a stop: its message says what to fix and that nothing
            # changed.
            if display.resume and not isinstance(exc, InvalidInput):
                click.echo(
                    f"{label}に中断しました（{display.done:,}{unit}まで処理）。{display.resume}", file=display.stream
                )
        raise
    display.finish()
