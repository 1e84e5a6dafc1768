"""Our Evaluator executor against TFX's, on a run's own Evaluator inputs: both ``Do()`` run for real
(TFX's on Beam's DirectRunner, TFMA as it is), and their outputs are compared file by file,
metric by metric: evaluation, validation result, blessing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Optional
from unittest import mock

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from ml_metadata import metadata_store as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

# TFX's own Evaluator executor, run as the reference; no public tfx.v1 name for it.
from tfx.components.evaluator import executor as tfx_evaluator_executor

from tfx_keras_estimator.components.fast_evaluator import Executor

EVALUATOR = 'Evaluator'


def evaluator_inputs(run_dir: Path) -> tuple:
    """The input artifacts and eval_config of the run directory's first gating Evaluator execution
    (its first run's: later tests may add runs to a shared run directory, in any order)."""
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(run_dir / 'metadata.sqlite')
    store = mlmd.MetadataStore(config)
    [node] = [c for c in store.get_contexts_by_type('node') if c.name.endswith('.' + EVALUATOR)]
    execution = min(store.get_executions_by_context(node.id), key=lambda e: e.id)
    inputs: Dict[str, List] = {}
    for event in store.get_events_by_execution_ids([execution.id]):
        if event.type != metadata_store_pb2.Event.INPUT:
            continue
        [artifact] = store.get_artifacts_by_id([event.artifact_id])
        type_name = store.get_artifact_types_by_id([artifact.type_id])[0].name
        wrapped = getattr(tfx.types.standard_artifacts, type_name)()
        wrapped.set_mlmd_artifact(artifact)
        inputs.setdefault(event.path.steps[0].key, []).append(wrapped)
    return inputs, execution.custom_properties['eval_config'].string_value


def run_evaluator(executor_class, inputs: Dict, eval_config: str, out: Path) -> tuple:
    evaluation = tfx.types.standard_artifacts.ModelEvaluation()
    evaluation.uri = str(out / 'evaluation')
    blessing = tfx.types.standard_artifacts.ModelBlessing()
    blessing.uri = str(out / 'blessing')
    for folder in (evaluation.uri, blessing.uri):
        Path(folder).mkdir(parents=True)
    context = executor_class.Context(beam_pipeline_args=['--direct_running_mode=in_memory'],
                                     tmp_dir=str(out / 'tmp'))
    # A Beam executor parses absl flags from sys.argv and its Beam args: here sys.argv is
    # pytest's, whose -v absl reads as --verbosity (CI runs pytest -v).
    with mock.patch.object(sys, 'argv', sys.argv[:1]):
        instance = executor_class(context)
    instance.Do(inputs, {'evaluation': [evaluation], 'blessing': [blessing]},
                {'eval_config': eval_config, 'example_splits': 'null'})
    if isinstance(instance, Executor):
        fallbacks.append(instance.fallback)
    return evaluation, blessing


# Each of our executor's Do(): why it handed the evaluation to TFX's (None: it did not).
fallbacks: List[Optional[str]] = []


def metrics_of(uri: str) -> Dict[bytes, Dict[str, float]]:
    result = {}
    for record in tfma.load_metrics(uri):
        result[record.slice_key.SerializeToString()] = {
            json_format.MessageToJson(m.key, sort_keys=True): m.value.double_value.value
            for m in record.metric_keys_and_values}
    return result


def assert_same_outputs(ours, theirs) -> None:
    (our_eval, our_blessing), (their_eval, their_blessing) = ours, theirs
    def files(uri):
        return sorted(p.name for p in Path(uri).iterdir())

    assert files(our_eval.uri) == files(their_eval.uri)
    our_metrics, their_metrics = metrics_of(our_eval.uri), metrics_of(their_eval.uri)
    assert our_metrics.keys() == their_metrics.keys() and our_metrics
    for key, metrics in their_metrics.items():
        assert our_metrics[key].keys() == metrics.keys()
        for name, value in metrics.items():
            assert our_metrics[key][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    for name in ('plots-00000-of-00001.tfrecord', 'attributions-00000-of-00001.tfrecord'):
        records = [sorted(tf.compat.v1.io.tf_record_iterator(str(Path(e.uri) / name))) for e in (our_eval, their_eval)]
        assert records[0] == records[1], name
    # The same validation result; a failing metric's value within the metrics' tolerance (a diff of
    # sums taken in another order can differ in the last float digits).
    validations, values = [], []
    for e in (our_eval, their_eval):
        validation = tfma.load_validation_result(e.uri)
        failures = [f for per_slice in validation.metric_validations_per_slice for f in per_slice.failures]
        values.append([f.metric_value.double_value.value for f in failures])
        for failure in failures:
            failure.ClearField('metric_value')
        validations.append(validation)
    assert validations[0] == validations[1], f'ours:\n{validations[0]}\nTFX\'s:\n{validations[1]}'
    assert values[0] == pytest.approx(values[1], rel=1e-6, abs=1e-9)
    config = [json.loads((Path(e.uri) / 'eval_config.json').read_text()) for e in (our_eval, their_eval)]
    assert config[0] == config[1]
    assert files(our_blessing.uri) == files(their_blessing.uri)
    assert dict(our_blessing.mlmd_artifact.custom_properties) == dict(their_blessing.mlmd_artifact.custom_properties)


def assert_same_as_tfx(inputs: Dict, eval_config: str, out: Path) -> tuple:
    """Ours (its fast path, checked) and TFX's on the same inputs, compared; ours returned."""
    result = run_evaluator(Executor, inputs, eval_config, out / 'ours')
    assert fallbacks[-1] is None, f'the fast path ran (it handed over: {fallbacks[-1]})'
    assert_same_outputs(result, run_evaluator(tfx_evaluator_executor.Executor, inputs, eval_config, out / 'tfx'))
    return result
