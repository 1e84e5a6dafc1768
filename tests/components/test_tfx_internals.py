"""The fast paths run only on the versions they were checked against."""

from __future__ import annotations

import importlib.metadata

from tfx_keras_estimator.components import tfx_internals
from tfx_keras_estimator.components.fast_evaluator.executor import fallback_reason


def test_this_environment_is_the_checked_one():
    """The lock's versions (what the comparisons with TFX's executors ran on): the fast paths run."""
    assert {name: importlib.metadata.version(name) for name in tfx_internals.CHECKED} == dict(tfx_internals.CHECKED)
    assert tfx_internals.mismatch() is None


def test_another_version_names_what_differs():
    installed = {**tfx_internals.CHECKED, 'tfx': '1.16.0'}
    installed.pop('tensorflow-model-analysis')
    assert tfx_internals.mismatch(installed) == (
        'versions the fast path was not checked against: tfx 1.16.0 (checked: 1.15.1), '
        'tensorflow-model-analysis (not installed) (checked: 0.46.0)')
    assert tfx_internals.mismatch(dict(tfx_internals.CHECKED)) is None


def test_the_evaluator_falls_back_on_other_versions(monkeypatch):
    """Every fast executor asks the same function; the Evaluator's answer shows the wiring."""
    monkeypatch.setattr(tfx_internals, 'mismatch', lambda: 'versions the fast path was not checked against: x')
    assert fallback_reason('{"model_specs": [{}]}', {}, []) == 'versions the fast path was not checked against: x'


def test_swapped_points_a_module_name_at_ours_for_the_block_only():
    import types

    import pytest

    module = types.ModuleType('tfx_like')
    module.reader = 'tfx'
    with tfx_internals.swapped(module, 'reader', 'ours'):
        assert module.reader == 'ours'
    assert module.reader == 'tfx'
    with pytest.raises(RuntimeError), tfx_internals.swapped(module, 'reader', 'ours'):
        raise RuntimeError('the executor failed')
    assert module.reader == 'tfx', 'restored after a failure too'
