"""run_fn on a real (small) Transform output: train, checkpoint, export, warm start.

The Transform output is the session's small housing one (conftest.py), built without a pipeline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.components.trainer.fn_args import trainer_fn_args as _fn_args
from tests.components.trainer.progress_records import progress_records
from tests.conftest import csv_rows
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import run_fn
from tfx_keras_estimator.components.trainer.adapter import ESTIMATOR_SUBDIR, TrainingDivergedError
from tfx_keras_estimator.pipelines.data import load_schema

HOUSING = get_recipe('housing')


def _global_step(model_run_dir: str) -> int:
    # Estimator checkpoints are named model.ckpt-<global step>.
    checkpoint = tf.train.latest_checkpoint(str(Path(model_run_dir) / ESTIMATOR_SUBDIR))
    return int(checkpoint.rsplit('-', 1)[1])


def _kernel(saved_model_dir: str) -> np.ndarray:
    return tf.train.load_checkpoint(f'{saved_model_dir}/variables/variables').get_tensor('prediction/kernel')


@pytest.fixture(scope='module')
def trained(housing_trainer_inputs, tmp_path_factory):
    work = tmp_path_factory.mktemp('run-fn')
    fn_args = _fn_args(housing_trainer_inputs, work, 60, HOUSING.trainer_config())
    with progress_records() as progress:
        run_fn(fn_args)
    fn_args.progress = progress
    return fn_args


def test_reports_progress_up_to_the_last_step(trained):
    progress = trained.progress
    assert progress[0].step <= 2 and progress[-1].step == 60 == progress[-1].total_steps
    assert progress[-1].fraction == 1.0
    # The loss is the Estimator's training loss; the rate needs two reports.
    assert all(p.loss is not None and p.loss > 0 for p in progress)
    assert len(progress) >= 2 and progress[-1].examples_per_sec > 0


def test_trains_the_requested_steps_with_checkpoints_in_model_run_dir(trained):
    assert _global_step(trained.model_run_dir) == 60
    events = list((Path(trained.model_run_dir) / ESTIMATOR_SUBDIR).glob('events.out.tfevents.*'))
    assert events, 'TensorBoard events belong to the model run directory'
    assert not list(Path(trained.serving_model_dir).glob('*.ckpt*')), 'no checkpoints in the Model artifact'


def test_exports_serving_and_eval_models(trained, housing_csv):
    recipe = get_recipe('housing')
    assert (Path(trained.serving_model_dir) / 'saved_model.pb').exists()
    assert (Path(trained.eval_model_dir) / 'saved_model.pb').exists()
    model = tf.saved_model.load(trained.serving_model_dir)
    rows = csv_rows(housing_csv, 3)
    serialized = examples_from_rows(rows, load_schema(recipe.schema_path), drop=[recipe.label_key])
    out = model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy()
    assert out.shape == (3, 1) and np.all(np.isfinite(out))
    # The model describes itself for tke predict: its task and the raw schema a client sends.
    extra = Path(trained.serving_model_dir) / 'assets.extra'
    description = json.loads((extra / 'tke_model.json').read_text())
    assert description['task'] == 'regression' and description['label_key'] == 'medv'
    assert 'name: "crim"' in (extra / 'schema.pbtxt').read_text()


def test_eval_model_hands_tfma_only_the_slice_features_and_the_serialized_examples(trained):
    # TFMA copies every receiver feature out per example: the eval model keeps the raw
    # features the Evaluator slices on (the recipe's), and its model_fn transforms the
    # serialized examples itself, so the transformed features are not among them.
    from tensorflow_model_analysis.eval_saved_model.load import EvalSavedModel

    from tfx_keras_estimator.components.trainer.export import SERIALIZED_FEATURE

    features, _, _ = EvalSavedModel(trained.eval_model_dir).get_features_predictions_labels_dicts()
    assert HOUSING.slice_features == ('chas',)
    assert set(features) == {'chas', SERIALIZED_FEATURE}
    assert 'crim' in {f.name for f in load_schema(HOUSING.schema_path).feature}


def test_eval_model_predicts_what_the_serving_model_does_with_the_transformed_label(trained, housing_csv):
    import tensorflow_transform as tft
    from tensorflow_model_analysis.eval_saved_model.load import EvalSavedModel

    rows = csv_rows(housing_csv, 6)
    schema = load_schema(HOUSING.schema_path)
    fetched = EvalSavedModel(trained.eval_model_dir).predict_list(examples_from_rows(rows, schema))
    assert len(fetched) == 6
    key = HOUSING.task_spec.prediction_key
    eval_predictions = np.array([np.ravel(f.values['predictions'][key])[0] for f in fetched])
    eval_labels = np.array([np.ravel(f.values['labels'])[0] for f in fetched])
    serving = tf.saved_model.load(trained.serving_model_dir).signatures['regression']
    served = serving(inputs=tf.constant(examples_from_rows(rows, schema, drop=[HOUSING.label_key])))
    np.testing.assert_allclose(eval_predictions, served['outputs'].numpy().ravel(), rtol=1e-5)
    transformed = tft.TFTransformOutput(trained.transform_graph_path).transform_features_layer()(
        tf.io.parse_example(tf.constant(examples_from_rows(rows, schema)),
                            tft.TFTransformOutput(trained.transform_graph_path).raw_feature_spec()))
    np.testing.assert_allclose(eval_labels, transformed[HOUSING.task_spec.transformed_label_key].numpy(), rtol=1e-6)


def test_trains_on_raw_examples_transformed_as_they_are_read(housing_trainer_inputs, housing_csv, tmp_path):
    # Transform with materialize=False: the Trainer gets ExampleGen's examples.
    fn_args = _fn_args(housing_trainer_inputs, tmp_path, 20, HOUSING.trainer_config(raw_examples=True))
    assert 'raw_examples' in fn_args.train_files[0]
    run_fn(fn_args)
    assert _global_step(fn_args.model_run_dir) == 20
    model = tf.saved_model.load(fn_args.serving_model_dir)
    serialized = examples_from_rows(csv_rows(housing_csv, 3), load_schema(HOUSING.schema_path),
                                    drop=[HOUSING.label_key])
    out = model.signatures['regression'](inputs=tf.constant(serialized))['outputs'].numpy()
    assert out.shape == (3, 1) and np.all(np.isfinite(out))


def test_users_own_builder_by_dotted_path(housing_trainer_inputs, tmp_path):
    config = HOUSING.trainer_config(model_builder='tests.components.trainer.builders.numeric_only',
                           hparams={'optimizer': 'Adam', 'learning_rate': 0.01})
    fn_args = _fn_args(housing_trainer_inputs, tmp_path, 20, config)
    run_fn(fn_args)
    model = tf.saved_model.load(fn_args.serving_model_dir)
    assert 'regression' in model.signatures


def test_misnamed_model_input_is_a_clear_error(housing_trainer_inputs, tmp_path):
    config = HOUSING.trainer_config(model_builder='tests.components.trainer.builders.misnamed_input')
    with pytest.raises(ValueError, match=r"model inputs \['rooms'\] are not transformed features"):
        run_fn(_fn_args(housing_trainer_inputs, tmp_path, 5, config))
    assert not Path(tmp_path / 'model').exists(), 'nothing is exported'


def test_a_builder_returning_no_keras_model_names_the_builder_and_the_recipe(housing_trainer_inputs, tmp_path):
    config = HOUSING.trainer_config(model_builder='tests.components.trainer.builders.not_a_model')
    with pytest.raises(ValueError, match=r"model builder 'tests.components.trainer.builders.not_a_model' of "
                                         r"'housing' returned str, not a tf.keras.Model"):
        run_fn(_fn_args(housing_trainer_inputs, tmp_path, 5, config))
    assert not Path(tmp_path / 'model').exists(), 'nothing is exported'


def test_warm_start_from_base_model(trained, housing_trainer_inputs, tmp_path):
    # Learning rate 0: whatever the new run holds after training came from the base model.
    config = HOUSING.trainer_config(hparams={'optimizer': 'SGD', 'learning_rate': 0.0})
    fn_args = _fn_args(housing_trainer_inputs, tmp_path, 3, config, base_model=trained.serving_model_dir)
    run_fn(fn_args)
    np.testing.assert_allclose(_kernel(fn_args.serving_model_dir), _kernel(trained.serving_model_dir))
    # Without a base model the same settings start from fresh weights.
    fresh = _fn_args(housing_trainer_inputs, tmp_path / 'fresh', 3, config)
    run_fn(fresh)
    assert not np.allclose(_kernel(fresh.serving_model_dir), _kernel(trained.serving_model_dir))


def test_nan_loss_stops_training_naming_the_step(housing_trainer_inputs, tmp_path):
    # An absurd learning rate makes the linear model blow up within a few steps.
    config = HOUSING.trainer_config(hparams={'optimizer': 'SGD', 'learning_rate': 1e30})
    fn_args = _fn_args(housing_trainer_inputs, tmp_path, 50, config)
    with pytest.raises(TrainingDivergedError, match=r'loss became NaN at step (\d+) of 50') as error:
        run_fn(fn_args)
    step = int(re.search(r'step (\d+)', str(error.value)).group(1))
    assert 1 <= step < 50
    assert not (tmp_path / 'model').exists(), 'nothing is exported'
