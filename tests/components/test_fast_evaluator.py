"""The fast Evaluator writes what TFX's Evaluator writes: metrics per slice, validation, blessing.

Both executors' ``Do()`` run for real (TFX's on Beam's DirectRunner, TFMA as it is) on
the housing pipeline's own Evaluator inputs (its EvalSavedModel and eval examples, from
the session's housing run), and their outputs are compared metric for metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types
from tfx import v1 as tfx

# TFX's own Evaluator executor, run as the reference; no public tfx.v1 name for it.
from tfx.components.evaluator import executor as tfx_evaluator_executor
from tfx.utils import proto_utils

from tests.evaluator_checks import (
    assert_same_as_tfx,
    assert_same_outputs,
    evaluator_inputs,
    fallbacks,
    metrics_of,
    run_evaluator,
)
from tfx_keras_estimator.components.fast_evaluator import Executor, FastEvaluator, executor

# On the session's housing pipeline run (tests/conftest.py): end to end, out of make test-fast.
E2E = pytest.mark.e2e

EVALUATOR = 'Evaluator'


# --- pure parts ---------------------------------------------------------------------------

def _columns(rows: List[Dict[str, list]], spec: Dict[str, tf.io.VarLenFeature]) -> Dict[str, executor.SliceColumn]:
    """Rows as serialized tf.Examples, parsed as the executor parses its blocks."""
    def feature(values):
        if isinstance(values[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

    records = [tf.train.Example(features=tf.train.Features(feature={
        k: feature(v) for k, v in row.items() if v})).SerializeToString() for row in rows]
    parsed = executor.parse_slice_features(tf.constant(records), spec)
    return {f: executor.SliceColumn.from_rows(ids.numpy(), values.numpy(), len(records))
            for f, (ids, values) in parsed.items()}


SPEC = {'hour': tf.io.VarLenFeature(tf.int64), 'company': tf.io.VarLenFeature(tf.string)}


def test_rows_are_grouped_by_their_slice_values_once_each_missing_kept_apart():
    rows = [{'hour': [3], 'company': [b'a']}, {'hour': [5], 'company': [b'b']}, {'company': [b'a']},
            {'hour': [3]}, {'hour': [], 'company': [b'a']}]
    columns = _columns(rows, SPEC)
    assert columns['hour'].per_row() == [[3], [5], [], [3], []]
    groups = {key: sorted(group.tolist()) for key, group in executor.partition_rows(columns, 5, ['company', 'hour'])}
    assert groups == {(b'a', 3): [0], (b'b', 5): [1], (b'a', None): [2, 4], (None, 3): [3]}
    [(key, group)] = executor.partition_rows(columns, 5, [])
    assert key == () and group.tolist() == [0, 1, 2, 3, 4]


def test_a_feature_absent_from_the_whole_block_is_missing_everywhere():
    columns = _columns([{'hour': [1]}, {'hour': [1]}], SPEC)
    groups = executor.partition_rows(columns, 2, ['company', 'hour'])
    assert [(key, group.tolist()) for key, group in groups] == [((None, 1), [0, 1])]


def test_several_values_in_one_example_leave_the_evaluation_to_tfma():
    columns = _columns([{'hour': [1]}, {'hour': [1, 2]}], SPEC)
    with pytest.raises(executor._NotFastPath, match='more than one value'):
        executor.partition_rows(columns, 2, ['hour'])


def test_pending_rows_run_each_row_once_in_batches_holding_at_most_the_limit():
    pending = executor.PendingRows(batch_rows=10, limit=25)
    rng = np.random.default_rng(0)
    runs, next_row, key_of = [], 0, {}
    for _ in range(40):  # blocks of 12 rows over 6 partitions, unevenly
        block = np.arange(next_row, next_row + 12)
        next_row += 12
        keys = rng.choice(6, size=12, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05])
        key_of.update(zip(block.tolist(), keys.tolist(), strict=True))
        for key in np.unique(keys):
            runs += pending.add((int(key),), block[keys == key])
            held = sum(len(rows) for rows in pending._held.values())
            assert held <= 25
    runs += pending.drain()
    assert pending.drain() == []
    ran = np.concatenate([rows for _, rows in runs])
    assert sorted(ran.tolist()) == list(range(next_row))
    # Each run is one partition's rows, and only its own.
    assert all(key_of[row] == key[0] for key, rows in runs for row in rows.tolist())
    # Far fewer graph calls than a call per block and partition (the point of holding rows).
    assert len(runs) < 40 * 4 / 2


def test_slice_keys_are_tfma_slice_keys():
    specs = [tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=['hour']),
             tfma.SlicingSpec(feature_keys=['hour', 'company'])]
    keys = executor.slice_keys((b'a', np.int64(3)), ['company', 'hour'], specs)
    assert keys == [(), (('hour', 3),), (('company', 'a'), ('hour', 3))]
    assert type(keys[1][0][1]) is int  # TFMA's slice-key checks refuse numpy scalars
    # An example without the feature is in no slice of the specs on it, as in TFMA's slicer.
    assert executor.slice_keys((b'a', None), ['company', 'hour'], specs) == [()]


def test_diff_metrics_are_candidate_minus_baseline_keyed_as_tfma_keys_them():
    auc = metric_types.MetricKey(name='auc', model_name='candidate')
    metrics = {auc: 0.9, auc.make_baseline_key('baseline'): 0.85,
               metric_types.MetricKey(name='only_candidate', model_name='candidate'): 1.0}
    result = executor.add_diff_metrics(metrics, 'baseline')
    assert result[auc.make_diff_key()] == pytest.approx(0.05)
    assert len(result) == len(metrics) + 1
    assert executor.add_diff_metrics(metrics, None) == metrics


def _config(**kwargs) -> str:
    config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(signature_name='eval')],
                             slicing_specs=[tfma.SlicingSpec()], metrics_specs=[tfma.MetricsSpec()])
    for field, value in kwargs.items():
        if isinstance(value, list):
            del getattr(config, field)[:]
            getattr(config, field).extend(value)
        else:
            getattr(config, field).CopyFrom(value)
    return proto_utils.proto_to_json(config)


@pytest.mark.parametrize('config, args, reason', [
    (_config(model_specs=[tfma.ModelSpec(signature_name='serving_default')]), [], 'not an EvalSavedModel'),
    (_config(metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(class_name='ExampleCount')])]), [],
     'TFMA metrics'),
    (_config(cross_slicing_specs=[tfma.CrossSlicingSpec(baseline_spec=tfma.SlicingSpec())]), [], 'cross slices'),
    (_config(slicing_specs=[tfma.SlicingSpec(feature_values={'hour': '3'})]), [], 'feature values'),
    (_config(options=tfma.Options(min_slice_size={'value': 10})), [], 'minimum slice size'),
    (_config(options=tfma.Options(include_default_metrics={'value': False})), [], 'include_default_metrics'),
    (_config(model_specs=[]), [], 'no model_specs'),
    (_config(), ['--runner=DataflowRunner'], 'DataflowRunner'),
    (None, [], 'no eval_config'),
])
def test_what_the_fast_path_does_not_cover_goes_to_tfx(config, args, reason):
    assert reason in executor.fallback_reason(config, {}, args)


def test_the_pipelines_eval_configs_take_the_fast_path():
    from tfx_keras_estimator.components.recipes import get_recipe
    from tfx_keras_estimator.pipelines.pipeline import comparison_eval_config, eval_config
    for config in (eval_config(get_recipe('taxi')), comparison_eval_config()):
        json_config = proto_utils.proto_to_json(config)
        assert executor.fallback_reason(json_config, {}, ['--direct_running_mode=multi_processing']) is None
    assert executor.fallback_reason(json_config, {'fairness_indicator_thresholds': '[0.5]'}, []) is not None


def test_component_is_the_evaluator_with_our_executor():
    component = FastEvaluator(examples=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples),
                              model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
                              eval_config=tfma.EvalConfig())
    assert isinstance(component, tfx.components.Evaluator)
    assert component.executor_spec.executor_class is Executor


# --- against TFX's executor on the housing run's inputs -------------------------------------

@pytest.fixture(scope='module')
def housing_inputs(housing_run):
    return evaluator_inputs(housing_run.run_dir)


def _with_baseline(inputs: Dict, baseline: Optional[list]) -> Dict:
    result = {k: v for k, v in inputs.items() if k != 'baseline_model'}
    if baseline:
        result['baseline_model'] = baseline
    return result


@E2E
@pytest.mark.parametrize('baseline', [False, True], ids=['first-run', 'with-baseline'])
def test_same_metrics_validation_and_blessing_as_tfx(housing_inputs, tmp_path, monkeypatch, baseline):
    inputs, eval_config = housing_inputs
    # The run's own model as its baseline: diff metrics and the change threshold are exercised.
    inputs = _with_baseline(inputs, inputs['model'] if baseline else None)
    # Small blocks and graph batches, so that variables are summed across both.
    monkeypatch.setattr(executor, 'BLOCK_ROWS', 32)
    monkeypatch.setattr(executor, 'GRAPH_BATCH_ROWS', 7)
    monkeypatch.setattr(executor, 'SLICE_CHECK_ROWS', 20)
    result = run_evaluator(Executor, inputs, eval_config, tmp_path / 'ours')
    assert fallbacks[-1] is None, 'the fast path ran'
    theirs = run_evaluator(tfx_evaluator_executor.Executor, inputs, eval_config, tmp_path / 'tfx')
    assert_same_outputs(result, theirs)
    assert len(metrics_of(result[0].uri)) == 3, 'overall, chas=0, chas=1'
    validation = tfma.load_validation_result(result[0].uri)
    assert validation.validation_ok, validation
    assert (Path(result[1].uri) / 'BLESSED').exists()


def _config_with(eval_config: str, slicing_specs: List[tfma.SlicingSpec]) -> str:
    config = tfma.EvalConfig()
    proto_utils.json_to_proto(eval_config, config)
    del config.slicing_specs[:]
    config.slicing_specs.extend(slicing_specs)
    return proto_utils.proto_to_json(config)


@E2E
def test_only_the_overall_slice(housing_inputs, tmp_path):
    """As the canned comparison evaluates: no slice feature to parse."""
    inputs, eval_config = housing_inputs
    config = _config_with(eval_config, [tfma.SlicingSpec()])
    result = run_evaluator(Executor, _with_baseline(inputs, None), config, tmp_path / 'ours')
    assert fallbacks[-1] is None, 'the fast path ran'
    theirs = run_evaluator(tfx_evaluator_executor.Executor, _with_baseline(inputs, None), config, tmp_path / 'tfx')
    assert_same_outputs(result, theirs)


@E2E
def test_a_slice_feature_the_eval_graph_lacks_goes_to_tfx(housing_inputs, tmp_path):
    inputs, eval_config = housing_inputs
    # 'rad' is a raw feature of the examples, but the eval model keeps only the recipe's slice features.
    config = _config_with(eval_config, [tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=['chas']),
                                        tfma.SlicingSpec(feature_keys=['rad'])])
    result = run_evaluator(Executor, _with_baseline(inputs, None), config, tmp_path / 'ours')
    assert fallbacks[-1] == "the slice features ['rad'] are not features of the eval graph"
    theirs = run_evaluator(tfx_evaluator_executor.Executor, _with_baseline(inputs, None), config, tmp_path / 'tfx')
    assert_same_outputs(result, theirs)


@pytest.fixture(scope='module')
def worse_model(housing_run, housing_inputs, tmp_path_factory):
    """The housing model trained 10 steps on the run's own examples and transform graph: far
    worse than the run's model (400 steps), so a candidate that must not be pushed."""
    from tests.components.trainer.fn_args import trainer_fn_args
    from tfx_keras_estimator.components.recipes import get_recipe
    from tfx_keras_estimator.components.trainer import run_fn

    inputs, _ = housing_inputs
    (graph,) = (housing_run.run_dir / 'pipeline' / 'Transform' / 'transform_graph').iterdir()
    examples = inputs['examples'][0].uri
    work = tmp_path_factory.mktemp('worse-model')
    config = get_recipe('housing').trainer_config(raw_examples=True)
    run_fn(trainer_fn_args({'examples_uri': examples, 'raw_examples_uri': examples, 'transform_graph_uri': str(graph)},
                           work, 10, config))
    model = tfx.types.standard_artifacts.Model()
    model.uri = str(work / 'model')
    return model


@E2E
def test_a_candidate_worse_than_its_baseline_is_not_blessed_by_either(housing_inputs, worse_model, tmp_path):
    inputs, eval_config = housing_inputs
    inputs = {**_with_baseline(inputs, inputs['model']), 'model': [worse_model]}
    result = assert_same_as_tfx(inputs, eval_config, tmp_path)
    validation = tfma.load_validation_result(result[0].uri)
    assert not validation.validation_ok
    # The same failing metric in both (assert_same_as_tfx compared the validation results): RMSE,
    # beyond the change tolerance of the last blessed model.
    failures = [f for per_slice in validation.metric_validations_per_slice for f in per_slice.failures]
    assert any(f.metric_key.name == 'rmse' and f.metric_threshold.HasField('change_threshold')
               for f in failures), validation
    assert (Path(result[1].uri) / 'NOT_BLESSED').exists() and not (Path(result[1].uri) / 'BLESSED').exists()
