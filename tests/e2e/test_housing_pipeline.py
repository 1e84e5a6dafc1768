"""The whole housing pipeline through LocalDagRunner, driven by the real ``tke run``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows
from tests.serving import examples_from_rows, with_blanks
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.report import all_runs, latest_run
from tfx_keras_estimator.pipelines.data import load_schema

pytestmark = pytest.mark.e2e

EXECUTED = ['CsvExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator', 'AnomalyGate', 'Transform',
            'Trainer', 'baseline_model_resolver', 'Evaluator', 'Pusher']


def _report(run_dir: Path):
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-housing')
    assert report is not None
    return report


def test_every_component_runs_and_the_model_is_blessed_and_pushed(housing_run):
    assert 'BLESSED' in housing_run.first.stdout
    assert 'pushed model:' in housing_run.first.stdout
    # TensorFlow/absl logs go to the log file, not the terminal.
    # (absl's launcher line: always logged, unlike TF's CPU-dependent oneDNN notice.)
    assert 'Component Transform is running' not in housing_run.first.stdout + housing_run.first.stderr
    assert 'Component Transform is running' in (housing_run.run_dir / 'tke.log').read_text()
    runs = all_runs(str(housing_run.run_dir / 'metadata.sqlite'), 'tke-housing')
    # The fixture's two runs come first (other tests may add runs to this directory, in any order).
    assert len(runs) >= 2
    states = {c.node_id: c.state for c in runs[0].components}
    assert sorted(states) == sorted(EXECUTED)
    assert set(states.values()) == {'complete'}, states
    assert runs[0].blessed is True and runs[0].pushed is True


def test_labelled_weights_are_stored_with_the_run_and_printed(housing_run):
    report = all_runs(str(housing_run.run_dir / 'metadata.sqlite'), 'tke-housing')[0]
    weights = json.loads((Path(report.model_run_uri) / 'labelled_weights.json').read_text())
    labels = [w['label'] for w in weights['weights']]
    magnitudes = [abs(w['weight']) for w in weights['weights']]
    assert magnitudes == sorted(magnitudes, reverse=True) and magnitudes[0] > 0
    assert {'lstat', 'rm', 'chas=0'} <= set(labels)
    assert 'largest weights of the linear model' in housing_run.first.stdout
    top = weights['weights'][0]
    assert f"{top['weight']:+9.3f}  {top['label']}" in housing_run.first.stdout


def test_eval_metrics_are_real_and_pass_the_gate(housing_run):
    report = _report(housing_run.run_dir)
    recipe = get_recipe('housing')
    rmse = report.metrics[recipe.gate.metric]
    # Computed by TFMA over the whole eval split (about a third of 506 rows).
    assert 120 <= report.metrics['example_count'] <= 220
    assert math.isfinite(rmse) and 0 < rmse <= recipe.gate.bound
    assert report.blessed is True


def test_second_run_is_served_from_the_cache(housing_run):
    assert housing_run.second.returncode == 0, housing_run.second.stderr
    second = all_runs(str(housing_run.run_dir / 'metadata.sqlite'), 'tke-housing')[1]
    states = {c.node_id: c.state for c in second.components}
    # Resolvers are queries, not executions to cache; every component is cached.
    for node in EXECUTED:
        if not node.endswith('resolver'):
            assert states[node] == 'cached', states
    assert 'served from the cache' in housing_run.second.stdout
    # Still exactly one pushed model: the cached Pusher pushed nothing new.
    assert len(list((housing_run.run_dir / 'serving').iterdir())) == 1


def test_pushed_model_serves_raw_examples_from_both_signatures(housing_run, housing_csv):
    recipe = get_recipe('housing')
    pushed = list((housing_run.run_dir / 'serving').iterdir())
    assert len(pushed) == 1
    model = tf.saved_model.load(str(pushed[0]))
    assert {'serving_default', 'regression'} <= set(model.signatures)
    rows = csv_rows(housing_csv, 7)
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))

    predict = model.signatures['serving_default'](examples=serialized)
    values = predict[recipe.prediction_key].numpy()
    assert values.shape == (7, 1)
    assert np.all(np.isfinite(values))

    regress = model.signatures['regression'](inputs=serialized)
    assert regress['outputs'].shape == (7, 1)
    np.testing.assert_allclose(regress['outputs'].numpy(), values, rtol=1e-5)
    # A trained model, not a constant: predictions differ across houses.
    assert values.std() > 0.5


def test_pushed_model_answers_a_batch_with_a_tenth_of_its_cells_left_out(housing_run, housing_csv):
    """One call, every row answered: a missing feature is filled as training filled it."""
    recipe = get_recipe('housing')
    (pushed,) = list((housing_run.run_dir / 'serving').iterdir())
    model = tf.saved_model.load(str(pushed))
    rows = with_blanks(csv_rows(housing_csv, 40), keep=[recipe.label_key])
    serialized = tf.constant(examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key]))
    values = model.signatures['serving_default'](examples=serialized)[recipe.prediction_key].numpy()
    assert values.shape == (40, 1) and np.all(np.isfinite(values))


def test_a_failed_run_keeps_pushed_models_and_the_store(housing_run):
    from tests.conftest import run_tke

    before = sorted(p.name for p in (housing_run.run_dir / 'serving').iterdir())
    failed = run_tke('run', '--recipe', 'housing', '--output', str(housing_run.run_dir),
                     '--train-steps', '5', '--model-builder', 'tests.components.trainer.builders.misnamed_input',
                     importable_tests=True)
    assert failed.returncode == 1
    assert 'the pipeline failed' in failed.stderr
    assert "model inputs ['rooms'] are not transformed features" in failed.stderr
    assert sorted(p.name for p in (housing_run.run_dir / 'serving').iterdir()) == before
    # The store still answers, and still holds the blessed run.
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(housing_run.run_dir / 'metadata.sqlite')
    store = metadata_store.MetadataStore(config)
    blessings = store.get_artifacts_by_type('ModelBlessing')
    assert any(b.custom_properties['blessed'].int_value == 1 for b in blessings)
    failed_states = [e.last_known_state for e in store.get_executions()]
    assert metadata_store_pb2.Execution.FAILED in failed_states
