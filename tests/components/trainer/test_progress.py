"""The progress meter: throttled reports with rate and time left, from a clock we control."""

from __future__ import annotations

import logging

from tfx_keras_estimator.components.trainer.progress import (
    PROGRESS_LOGGER,
    RECORD_ATTR,
    Progress,
    ProgressMeter,
    format_seconds,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reports_are_throttled_and_carry_rate_and_time_left(caplog):
    clock = Clock()
    meter = ProgressMeter(total_steps=1000, batch_size=32, every_secs=2.0, clock=clock)
    with caplog.at_level(logging.INFO, logger=PROGRESS_LOGGER):
        first = meter.update(1, 5.0)
        assert first == Progress(1, 1000, 5.0, None, None)
        clock.now += 1.0
        assert not meter.due() and meter.update(50, 4.0) is None
        clock.now += 1.5
        second = meter.update(201, 3.0)
    # 200 steps in 2.5 s: 80 steps/s, 2,560 examples/s; 799 steps left: 10 s.
    assert second.examples_per_sec == 80 * 32
    assert round(second.seconds_left) == 10
    records = [r for r in caplog.records if r.name == PROGRESS_LOGGER]
    assert [getattr(r, RECORD_ATTR) for r in records] == [first, second]
    assert records[-1].getMessage() == 'training: step 201/1000 (20%), loss 3, 2,560 examples/s, 10 s left'


def test_a_forced_report_is_not_throttled_and_a_nan_loss_is_left_out():
    clock = Clock()
    meter = ProgressMeter(100, 8, clock=clock)
    meter.update(10, 1.0)
    clock.now += 0.1
    final = meter.update(100, float('nan'), force=True)
    assert final is not None and final.fraction == 1.0 and final.loss is None
    assert final.line().startswith('step 100/100 (100%), ')


def test_seconds_read_as_people_say_them():
    assert format_seconds(4.4) == '4 s'
    assert format_seconds(125) == '2 min 05 s'
    assert format_seconds(3 * 3600 + 61) == '3 h 01 min'
