"""Convert after training: Keras fit then model_to_estimator(keras_model_path=...), and a user's Keras file.

Runs on the session's small housing Transform output (conftest.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from tests.components.trainer.fn_args import trainer_fn_args
from tests.components.trainer.progress_records import progress_records
from tests.conftest import csv_rows
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.housing import features as F
from tfx_keras_estimator.components.trainer import run_fn
from tfx_keras_estimator.components.trainer.adapter import ESTIMATOR_SUBDIR, FIT_SUMMARY_FILE, KERAS_SUBDIR
from tfx_keras_estimator.components.trainer.config import KERAS_FILE_MODE, KERAS_FIT_MODE
from tfx_keras_estimator.components.trainer.convert import BEST_MODEL_FILE, epoch_plan
from tfx_keras_estimator.components.trainer.keras_file import UnsafeKerasFileError
from tfx_keras_estimator.pipelines.app.run_details import training_curves
from tfx_keras_estimator.pipelines.data import load_schema

HOUSING = get_recipe('housing')
N_ROWS = 8


def _served(serving_model_dir: str, housing_csv: Path) -> np.ndarray:
    recipe = get_recipe('housing')
    rows = csv_rows(housing_csv, N_ROWS)
    serialized = examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key])
    model = tf.saved_model.load(serving_model_dir)
    return model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy()


def _keras_predictions(keras_file: str, fn_args, housing_csv: Path) -> np.ndarray:
    """What the Keras model itself predicts for the same rows, through the same transform."""
    recipe = get_recipe('housing')
    tft_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    serialized = examples_from_rows(csv_rows(housing_csv, N_ROWS), load_schema(recipe.schema_path),
                                    drop=[recipe.label_key])
    spec = dict(tft_output.raw_feature_spec())
    spec.pop(recipe.label_key)
    raw = tf.io.parse_example(tf.constant(serialized), spec)
    transformed = tft_output.transform_features_layer()(raw)
    model = tf.keras.models.load_model(keras_file)  # our own file: no Lambda layers
    return model.predict({name: transformed[name] for name in model.input_names}, verbose=0)


@pytest.fixture(scope='module')
def fitted(housing_trainer_inputs, tmp_path_factory):
    work = tmp_path_factory.mktemp('keras-fit')
    config = HOUSING.trainer_config(mode=KERAS_FIT_MODE, hparams={'steps_per_epoch': 40, 'early_stopping_patience': 2})
    fn_args = trainer_fn_args(housing_trainer_inputs, work, 400, config)
    with progress_records() as progress:
        run_fn(fn_args)
    fn_args.progress = progress
    return fn_args


def test_keras_fit_reports_progress_and_keeps_every_epoch_for_the_curves(fitted):
    assert fitted.progress and fitted.progress[-1].total_steps == 400
    # Early stopping may end the fit before step 400; the last report is where it ended.
    summary = json.loads((Path(fitted.model_run_dir) / KERAS_SUBDIR / FIT_SUMMARY_FILE).read_text())
    assert fitted.progress[-1].step == summary['epochs_run'] * summary['steps_per_epoch']
    assert len(summary['history']['val_loss']) == summary['epochs_run']
    curves = {c.metric: c for c in training_curves(fitted.model_run_dir)}
    assert {'loss', 'rmse'} <= set(curves)
    assert curves['loss'].x_label == 'epoch' and len(curves['loss'].eval) == summary['epochs_run']


def test_keras_fit_keeps_the_best_model_and_its_numbers(fitted):
    keras_dir = Path(fitted.model_run_dir) / KERAS_SUBDIR
    assert (keras_dir / BEST_MODEL_FILE).exists()
    summary = json.loads((keras_dir / FIT_SUMMARY_FILE).read_text())
    assert summary['epochs_max'] == 10 and summary['steps_per_epoch'] == 40
    assert 1 <= summary['best_epoch'] <= summary['epochs_run'] <= 10
    assert np.isfinite(summary['val_loss']) and 'val_rmse' in summary


def test_keras_fit_exports_exactly_the_best_keras_model(fitted, housing_csv):
    # No Estimator training step ran after the conversion: the checkpoint is the step-0 one
    # model_to_estimator wrote from the Keras weights.
    checkpoint = tf.train.latest_checkpoint(str(Path(fitted.model_run_dir) / ESTIMATOR_SUBDIR))
    assert tf.train.load_variable(checkpoint, 'global_step') == 0
    served = _served(fitted.serving_model_dir, housing_csv)
    expected = _keras_predictions(str(Path(fitted.model_run_dir) / KERAS_SUBDIR / BEST_MODEL_FILE),
                                  fitted, housing_csv)
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-4)
    assert (Path(fitted.eval_model_dir) / 'saved_model.pb').exists()


def test_users_keras_file_is_converted_and_served(fitted, housing_trainer_inputs, housing_csv, tmp_path):
    keras_file = str(Path(fitted.model_run_dir) / KERAS_SUBDIR / BEST_MODEL_FILE)
    config = HOUSING.trainer_config(mode=KERAS_FILE_MODE, keras_model_path=keras_file)
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path, 100, config)
    run_fn(fn_args)
    np.testing.assert_allclose(_served(fn_args.serving_model_dir, housing_csv),
                               _keras_predictions(keras_file, fn_args, housing_csv), rtol=1e-4, atol=1e-4)


def _model_with_side_effect_lambda(marker: Path) -> tf.keras.Model:
    """A housing model whose Lambda layer writes ``marker`` whenever its code runs."""
    inputs = {transformed_name(k): tf.keras.Input(shape=(), name=transformed_name(k))
              for k in F.NUMERIC_FEATURE_KEYS}
    x = tf.keras.layers.Concatenate()([tf.keras.layers.Reshape((1,))(i) for i in inputs.values()])
    touch = eval(f"lambda t: (open({str(marker)!r}, 'w').close(), t)[1]")  # noqa: S307 - the test's own code
    x = tf.keras.layers.Lambda(touch, name='touch_marker')(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(x))
    model.compile(optimizer=tf.keras.optimizers.legacy.Adam(0.01), loss='mse',
                  metrics=[tf.keras.metrics.RootMeanSquaredError(name='rmse')])
    return model


def test_keras_file_with_code_is_refused_before_loading_unless_allowed(housing_trainer_inputs, tmp_path, housing_csv):
    marker = tmp_path / 'lambda-ran'
    keras_file = str(tmp_path / 'with_lambda.h5')
    _model_with_side_effect_lambda(marker).save(keras_file)
    marker.unlink()  # building the model ran the Lambda once

    config = HOUSING.trainer_config(mode=KERAS_FILE_MODE, keras_model_path=keras_file)
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path / 'refused', 10, config)
    with pytest.raises(UnsafeKerasFileError, match=r'touch_marker \(a Lambda layer'):
        run_fn(fn_args)
    assert not marker.exists(), 'the Lambda code ran although the file was refused'
    assert not Path(fn_args.serving_model_dir).exists()

    config = HOUSING.trainer_config(mode=KERAS_FILE_MODE, keras_model_path=keras_file,
                           allow_unsafe_keras_file=True)
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path / 'allowed', 10, config)
    run_fn(fn_args)
    assert marker.exists(), 'opted in: the Lambda layer was loaded and run'
    assert _served(fn_args.serving_model_dir, housing_csv).shape == (N_ROWS, 1)


def test_keras_file_must_match_the_transformed_features(housing_trainer_inputs, tmp_path):
    inputs = {'rooms': tf.keras.Input(shape=(1,), name='rooms')}
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(inputs['rooms']))
    model.compile(optimizer=tf.keras.optimizers.legacy.SGD(), loss='mse')
    keras_file = str(tmp_path / 'other.h5')
    model.save(keras_file)
    config = HOUSING.trainer_config(mode=KERAS_FILE_MODE, keras_model_path=keras_file)
    with pytest.raises(ValueError, match=r"model inputs \['rooms'\] are not transformed features"):
        run_fn(trainer_fn_args(housing_trainer_inputs, tmp_path / 'run', 10, config))


def test_keras_fit_divergence_names_the_epoch_and_step_and_exports_nothing(housing_trainer_inputs, tmp_path):
    from tfx_keras_estimator.components.trainer.adapter import TrainingDivergedError

    config = HOUSING.trainer_config(mode=KERAS_FIT_MODE, hparams={'optimizer': 'SGD', 'learning_rate': 1e30,
                                                                  'steps_per_epoch': 10})
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path, 50, config)
    with pytest.raises(TrainingDivergedError, match=r'loss became NaN in epoch (\d+) of 5, at step (\d+) of 50 '
                                                    r'\(Keras fit') as error:
        run_fn(fn_args)
    epoch, step = map(int, re.search(r'epoch (\d+) of 5, at step (\d+)', str(error.value)).groups())
    assert 1 <= epoch <= 5 and (epoch - 1) * 10 < step <= epoch * 10
    assert not Path(fn_args.serving_model_dir).exists() and not Path(fn_args.eval_model_dir).exists()
    assert not (Path(fn_args.model_run_dir) / KERAS_SUBDIR).exists()


@pytest.mark.parametrize('train_steps,per_epoch,expected', [(316, 100, (4, 79)), (400, 40, (10, 40)),
                                                            (5, 100, (1, 5)), (250, 100, (3, 84)), (1, 1, (1, 1))])
def test_the_epoch_plan_adds_up_to_the_asked_steps(train_steps, per_epoch, expected):
    assert epoch_plan(train_steps, {'steps_per_epoch': per_epoch}) == expected
    for steps in range(1, 400):
        epochs, each = epoch_plan(steps, {'steps_per_epoch': 30})
        # Whole epochs as near the asked steps as they can be: fewer than `epochs` steps more, never fewer.
        assert 0 <= epochs * each - steps < epochs and each <= 30, (steps, epochs, each)
