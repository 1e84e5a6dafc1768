"""tke gc's refusals (its work on real runs: the end of tests/e2e/test_kill_components.py)."""

from __future__ import annotations

import pytest

from tests.conftest import run_tke
from tfx_keras_estimator.pipelines.app.retention import plan_gc


def test_gc_needs_a_run_directory_and_keeps_at_least_one_run(tmp_path):
    with pytest.raises(ValueError, match='is not a run directory: it has no metadata.sqlite'):
        plan_gc(tmp_path, 2)
    with pytest.raises(ValueError, match='--keep must be at least 1'):
        plan_gc(tmp_path, 0)
    result = run_tke('gc', str(tmp_path / 'nothing'), '--keep', '3')
    assert result.returncode == 2 and 'has no metadata.sqlite' in result.stderr
    result = run_tke('run', '--keep-runs', '0', '--output', str(tmp_path / 'r'))
    assert result.returncode == 2 and '--keep-runs must be at least 1' in result.stderr
    assert not (tmp_path / 'r').exists()
