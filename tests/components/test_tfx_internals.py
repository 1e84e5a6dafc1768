"""The fast paths run only on the versions they were checked against."""

from __future__ import annotations

import importlib.metadata

import pytest

from tfx_keras_estimator.components import tfx_internals
from tfx_keras_estimator.components.fast_evaluator.executor import fallback_reason
from tfx_keras_estimator.components.trainer import stack


@pytest.mark.both_stacks
def test_this_environment_is_one_of_the_checked_ones():
    """A lock's versions (what the comparisons with TFX's executors ran on): the fast paths run."""
    installed = {name: importlib.metadata.version(name) for name in tfx_internals.CHECKED}
    assert installed in (dict(tfx_internals.CHECKED), dict(tfx_internals.CHECKED_MODERN))
    assert tfx_internals.mismatch() is None


def test_another_version_names_what_differs_from_its_tfxs_set():
    installed = {**tfx_internals.CHECKED, 'tfx': '1.15.2'}
    installed.pop('tensorflow-model-analysis')
    assert tfx_internals.mismatch(installed) == (
        'versions the fast path was not checked against: tfx 1.15.2 (checked: 1.15.1), '
        'tensorflow-model-analysis (not installed) (checked: 0.46.0)')
    assert tfx_internals.mismatch({**tfx_internals.CHECKED_MODERN, 'tfx-bsl': '1.16.0'}) == (
        'versions the fast path was not checked against: tfx-bsl 1.16.0 (checked: 1.16.1)')
    assert tfx_internals.mismatch(dict(tfx_internals.CHECKED)) is None
    assert tfx_internals.mismatch(dict(tfx_internals.CHECKED_MODERN)) is None


@pytest.mark.both_stacks
def test_the_evaluator_runs_its_fast_path_on_the_legacy_stack_only(monkeypatch):
    """Every fast executor asks the same function; the Evaluator asks for the legacy set alone."""
    reason = fallback_reason('{"model_specs": [{}]}', {}, [])
    if stack.current() == stack.MODERN:
        assert reason.startswith('versions the fast path was not checked against: tfx 1.16.0 (checked: 1.15.1)')
    monkeypatch.setattr(tfx_internals, 'mismatch', lambda **_: 'versions the fast path was not checked against: x')
    assert fallback_reason('{"model_specs": [{}]}', {}, []) == 'versions the fast path was not checked against: x'


def test_swapped_points_a_module_name_at_ours_for_the_block_only():
    import types

    module = types.ModuleType('tfx_like')
    module.reader = 'tfx'
    with tfx_internals.swapped(module, 'reader', 'ours'):
        assert module.reader == 'ours'
    assert module.reader == 'tfx'
    with pytest.raises(RuntimeError), tfx_internals.swapped(module, 'reader', 'ours'):
        raise RuntimeError('the executor failed')
    assert module.reader == 'tfx', 'restored after a failure too'
