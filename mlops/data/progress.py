"""A one-line progress bar on stderr, drawn only when enabled (the CLI enables it on a tty)."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_WIDTH = 30
_INTERVAL = 0.1


class Progress:
    """Thread-safe progress of ``total`` units of work; :meth:`close` ends the line."""

    def __init__(
        self, label: str, total: int, unit: str, *, enabled: bool, stream: TextIO | None = None
    ) -> None:
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._drawn = 0.0

    def reset(self, label: str, total: int, unit: str) -> None:
        with self._lock:
            self.label, self.total, self.unit, self.done = label, max(total, 1), unit, 0
            self._started = time.monotonic()
        self._draw(force=True)

    def advance(self, amount: int) -> None:
        with self._lock:
            self.done += amount
        self._draw(force=False)

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, *, force: bool) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._drawn < _INTERVAL:
                return
            self._drawn = now
            fraction = min(1.0, self.done / self.total)
            filled = int(fraction * _WIDTH)
            bar = "#" * filled + "." * (_WIDTH - filled)
            line = (
                f"\r{self.label:<10} {fraction:4.0%} [{bar}] "
                f"{_human(self.done)}/{_human(self.total)} {self.unit} {now - self._started:5.1f}s"
            )
            self.stream.write(line)
            self.stream.flush()


def _human(value: int) -> str:
    for limit, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return str(value)
