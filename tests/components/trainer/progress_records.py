"""Collects the Trainer's progress records while a run_fn runs."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator, List

from tfx_keras_estimator.components.trainer.progress import PROGRESS_LOGGER, RECORD_ATTR, Progress


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.progress: List[Progress] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, RECORD_ATTR):
            self.progress.append(getattr(record, RECORD_ATTR))


@contextmanager
def progress_records() -> Iterator[List[Progress]]:
    logger = logging.getLogger(PROGRESS_LOGGER)
    handler = _Collect()
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler.progress
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
