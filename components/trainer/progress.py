"""Training progress while the Trainer runs: step of total, loss, examples per second, time left.

The Estimator logs ``loss = ..., step = ...`` every 100 steps with no total and no rate;
a long Trainer looks hung. Our hook (Estimator modes) and callback (``keras_fit``), in
``progress_hooks``, log a :class:`Progress` record on the ``tke.progress`` logger every
few seconds: a plain line in any log (Kubeflow, Vertex, tke.log), and ``tke run``
renders it on one updating line.
This module imports no TensorFlow, so the CLI can read the records without loading it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

PROGRESS_LOGGER = 'tke.progress'
# The record attribute carrying the Progress (logging's ``extra``).
RECORD_ATTR = 'tke_progress'
EVERY_SECS = 2.0


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    loss: Optional[float]
    examples_per_sec: Optional[float]
    seconds_left: Optional[float]

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    def line(self) -> str:
        parts = [f'step {self.step}/{self.total_steps} ({self.fraction:.0%})']
        if self.loss is not None:
            parts.append(f'loss {self.loss:.4g}')
        if self.examples_per_sec is not None:
            parts.append(f'{self.examples_per_sec:,.0f} examples/s')
        if self.seconds_left is not None:
            parts.append(f'{format_seconds(self.seconds_left)} left')
        return ', '.join(parts)


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f'{seconds} s'
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f'{minutes} min {seconds:02d} s'
    hours, minutes = divmod(minutes, 60)
    return f'{hours} h {minutes:02d} min'


class ProgressMeter:
    """Turns (step, loss) updates into a Progress at most every ``every_secs``.

    The rate is over the steps since the previous report, so it follows the training
    as it is now (evaluations between training rounds slow it down, as they should).
    """

    def __init__(self, total_steps: int, batch_size: int, every_secs: float = EVERY_SECS,
                 clock: Callable[[], float] = time.monotonic,
                 logger: Optional[logging.Logger] = None) -> None:
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.every_secs = every_secs
        self.clock = clock
        self.logger = logger or logging.getLogger(PROGRESS_LOGGER)
        self._last: Optional[tuple[float, int]] = None
        self.reported: Optional[Progress] = None

    def due(self) -> bool:
        return self._last is None or self.clock() - self._last[0] >= self.every_secs

    def update(self, step: int, loss: Optional[float], force: bool = False) -> Optional[Progress]:
        """Logs and returns a Progress when one is due (or ``force``), else None."""
        now = self.clock()
        if self._last is None:
            # The first update starts the clock: no rate yet.
            self._last = (now, step)
            progress = Progress(step, self.total_steps, _finite(loss), None, None)
        elif not force and now - self._last[0] < self.every_secs:
            return None
        else:
            then, before = self._last
            elapsed = now - then
            steps_per_sec = (step - before) / elapsed if elapsed > 0 and step > before else None
            left = (max(0, self.total_steps - step) / steps_per_sec) if steps_per_sec else None
            rate = steps_per_sec * self.batch_size if steps_per_sec else None
            progress = Progress(step, self.total_steps, _finite(loss), rate, left)
            self._last = (now, step)
        self.reported = progress
        self.logger.info('training: %s', progress.line(), extra={RECORD_ATTR: progress})
        return progress


def _finite(value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
