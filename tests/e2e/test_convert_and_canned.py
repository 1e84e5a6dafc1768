"""Through the real ``tke run``: Keras fit then convert, with the canned baseline beside it; then the
kept best Keras file converted on its own, and again after the file was replaced in place (the
Trainer's cache key holds the file's hash); and a Keras file with code refused before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import run_tke
from tfx_keras_estimator.components.trainer.adapter import FIT_SUMMARY_FILE, KERAS_SUBDIR
from tfx_keras_estimator.components.trainer.convert import BEST_MODEL_FILE
from tfx_keras_estimator.pipelines.app.report import latest_run
from tfx_keras_estimator.pipelines.app.report_html import REPORT_FILE
from tfx_keras_estimator.pipelines.config import CANNED_COMPARISON_ID, CANNED_TRAINER_ID

pytestmark = pytest.mark.e2e


def _run(*args: str, run_dir: Path):
    # Transform materializes here (the other pipeline tests take the default, raw examples
    # transformed as the Trainer reads them): both wirings run end to end.
    result = run_tke('run', '--recipe', 'housing', '--output', str(run_dir), '--transform-materialize', 'on', *args)
    if result.returncode != 0:
        log = (run_dir / 'tke.log').read_text()[-5000:] if (run_dir / 'tke.log').exists() else ''
        pytest.fail(f'tke run {args} failed:\n{result.stdout}\n{result.stderr}\n--- log tail ---\n{log}')
    return result, latest_run(str(run_dir / 'metadata.sqlite'), 'tke-housing')


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp('convert-run')
    fit = _run('--mode', 'keras-fit', '--canned-baseline', '--train-steps', '300', '--eval-steps', '5',
               '--hparam', 'steps_per_epoch=50', run_dir=run_dir)
    kept = Path(fit[1].model_run_uri) / KERAS_SUBDIR / BEST_MODEL_FILE
    keras_file = tmp_path_factory.mktemp('keras-file') / 'model.h5'
    shutil.copy(kept, keras_file)
    fit_page = (run_dir / REPORT_FILE).read_text()
    converted = _run('--keras-model', str(keras_file), '--eval-steps', '5', run_dir=run_dir)
    converted_page = (run_dir / REPORT_FILE).read_text()
    # The same path, other contents: the output layer's weights scaled in place.
    with h5py.File(keras_file, 'r+') as f:
        kernels = []
        f['model_weights'].visititems(lambda name, node: kernels.append(name) if name.endswith('kernel:0') else None)
        last = f['model_weights'][sorted(kernels)[-1]]
        last[...] = np.asarray(last) * 3.0
    replaced = _run('--keras-model', str(keras_file), '--eval-steps', '5', run_dir=run_dir)
    return fit, converted, keras_file, fit_page, converted_page, replaced


def test_keras_fit_run_reports_keras_and_canned_side_by_side(runs):
    (result, report), _, keras_file, _, _, _ = runs
    assert report.state_of(CANNED_TRAINER_ID) == 'complete'
    assert report.state_of(CANNED_COMPARISON_ID) == 'complete'
    assert 'vs the pre-made linear Estimator' in result.stdout
    assert {'rmse', 'mae'} <= set(report.canned_metrics)
    # The comparison evaluates the same Keras model the gating Evaluator blessed.
    assert report.keras_metrics_vs_canned['rmse'] == pytest.approx(report.metrics['rmse'], rel=1e-4)
    assert report.canned_metrics['rmse'] != pytest.approx(report.metrics['rmse'], rel=1e-6)
    assert report.blessed is True and report.pushed is True
    summary = json.loads((Path(report.model_run_uri) / KERAS_SUBDIR / FIT_SUMMARY_FILE).read_text())
    assert summary['steps_per_epoch'] == 50 and summary['epochs_run'] <= 6


def test_kept_keras_file_converts_to_the_same_model(runs):
    (_, fit_report), (_, report), *_ = runs
    assert report.state_of('Transform') == 'cached'
    assert report.state_of('Trainer') == 'complete'
    assert report.state_of(CANNED_TRAINER_ID) is None
    # Same weights, same eval data: the same metrics, and a new pushed model that serves.
    assert report.metrics['rmse'] == pytest.approx(fit_report.metrics['rmse'], rel=1e-4)
    assert report.pushed is True and report.pushed_model != fit_report.pushed_model
    assert 'regression' in tf.saved_model.load(report.pushed_model).signatures


def test_a_replaced_keras_file_at_the_same_path_is_trained_again(runs):
    (_, _), (_, converted), _, _, _, (_, replaced) = runs
    # The file's hash is in the Trainer's cache key: a stale model is not reused; upstream is.
    assert replaced.state_of('Trainer') == 'complete', [(c.node_id, c.state) for c in replaced.components]
    assert replaced.state_of('Transform') == 'cached'
    assert replaced.model_run_uri != converted.model_run_uri
    assert replaced.metrics['rmse'] != pytest.approx(converted.metrics['rmse'], rel=1e-4)


def test_keras_file_with_lambda_is_refused_before_the_run(tmp_path):
    x_in = tf.keras.Input(shape=(3,), name='x')
    x = tf.keras.layers.Lambda(lambda t: t + 1.0, name='plus_one')(x_in)
    model = tf.keras.Model({'x': x_in}, tf.keras.layers.Dense(1, name='prediction')(x))
    model.compile(optimizer=tf.keras.optimizers.legacy.SGD(), loss='mse')
    model.save(tmp_path / 'lambda.h5')
    result = run_tke('run', '--recipe', 'housing', '--output', str(tmp_path / 'run'),
                     '--keras-model', str(tmp_path / 'lambda.h5'))
    assert result.returncode == 2
    assert 'plus_one (a Lambda layer' in result.stderr and '--allow-unsafe-keras-file' in result.stderr
    assert not (tmp_path / 'run' / 'metadata.sqlite').exists(), 'nothing ran'


def test_reports_show_the_fit_by_epoch_the_canned_estimator_and_the_baseline(runs):
    _, _, _, fit_page, converted_page, _ = runs
    assert 'loss against the epoch' in fit_page, 'keras-fit curves are per epoch'
    assert '<th>pre-made Estimator</th>' in fit_page
    # The second run is judged against the first (blessed) model: both columns and their difference.
    assert '<th>last blessed model</th><th>difference</th>' in converted_page
    assert 'at most 0.5 higher than the baseline model' in converted_page
    assert '<td>2</td>' in converted_page.split('id="history"')[1]
