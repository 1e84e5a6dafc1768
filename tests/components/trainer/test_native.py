"""The native Keras trainer (the modern stack): run_fn trains the recipe's model with Keras fit on a
real Transform output and exports the legacy serving contract; a killed fit resumes from its last
epoch; a NaN loss stops training with the step; a warm start takes the last model's weights."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

from tests.components.trainer.fn_args import trainer_fn_args
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import native, run_fn, stack
from tfx_keras_estimator.components.trainer.adapter import native_fit_inputs
from tfx_keras_estimator.components.trainer.convert import TrainingDivergedError
from tfx_keras_estimator.components.trainer.model import build_model, import_by_path
from tfx_keras_estimator.pipelines.app.migrate import signature_contract
from tfx_keras_estimator.pipelines.data import load_schema

if stack.current() != stack.MODERN:
    pytest.skip('the native Keras trainer is the modern stack\'s (make test-modern)', allow_module_level=True)

pytestmark = pytest.mark.both_stacks
HOUSING = get_recipe('housing')


@pytest.fixture(scope='module')
def trained(housing_trainer_inputs, tmp_path_factory):
    work = tmp_path_factory.mktemp('native')
    fn_args = trainer_fn_args(housing_trainer_inputs, work, 60, HOUSING.trainer_config(raw_examples=True))
    run_fn(fn_args)
    return fn_args


def test_run_fn_exports_the_legacy_serving_contract_for_regression(trained):
    contract = signature_contract(trained.serving_model_dir)
    examples = {'inputs': {'dtype': 'DT_STRING', 'shape': [-1]}}
    assert contract['serving_default'] == {
        'method': 'tensorflow/serving/predict', 'inputs': {'examples': examples['inputs']},
        'outputs': {'prediction': {'dtype': 'DT_FLOAT', 'shape': [-1, 1]}}}
    assert contract['regression'] == {'method': 'tensorflow/serving/regress', 'inputs': examples,
                                      'outputs': {'outputs': {'dtype': 'DT_FLOAT', 'shape': [-1, 1]}}}
    assert set(contract) == {'serving_default', 'regression', native.TRANSFORM_SIGNATURE}
    extra = Path(trained.serving_model_dir, 'assets.extra')
    assert sorted(p.name for p in extra.iterdir()) == ['schema.pbtxt', 'tke_model.json']


def test_the_served_model_answers_raw_rows_as_the_trained_model_does(trained, housing_trainer_inputs):
    served = tf.saved_model.load(trained.serving_model_dir)
    records = list(tf.data.TFRecordDataset(
        tf.io.gfile.glob(f'{housing_trainer_inputs["raw_examples_uri"]}/Split-eval/*'),
        compression_type='GZIP').take(8).as_numpy_iterator())
    predicted = served.signatures['serving_default'](examples=tf.constant(records))['prediction'].numpy()
    regressed = served.signatures['regression'](inputs=tf.constant(records))['outputs'].numpy()
    transformed = served.signatures[native.TRANSFORM_SIGNATURE](examples=tf.constant(records))
    # The tracked Keras model on the transform signature's features: the same numbers.
    names = served.model.__call__.concrete_functions[0].structured_input_signature[0][0]
    direct = served.model({k: transformed[k] for k in names}).numpy()
    assert predicted.shape == (8, 1) and np.isfinite(predicted).all()
    np.testing.assert_allclose(predicted, regressed, rtol=1e-6)
    np.testing.assert_allclose(predicted, direct, rtol=1e-5)
    # The transformed label is there for TFMA: the Evaluator reads it through this signature.
    assert HOUSING.task_spec.transformed_label_key in transformed


def test_a_classifier_exports_the_classification_signature(taxi_tft, tmp_path):
    taxi = get_recipe('taxi')
    task = taxi.task_spec
    # As Transform lays it out: with the raw schema the serving model parses requests with.
    graph_dir = tmp_path / 'transform_graph'
    shutil.copytree(os.path.dirname(taxi_tft.transform_savedmodel_dir), graph_dir)
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(load_schema(taxi.schema_path)),
                               str(graph_dir / tft.TFTransformOutput.RAW_METADATA_DIR))
    taxi_tft = tft.TFTransformOutput(str(graph_dir))
    model = build_model(import_by_path(taxi.model_builder), taxi_tft, taxi.hparams, where='taxi', task=task)
    native.export_native(model, task, taxi_tft, list(model.input_names), str(tmp_path / 'serving'), str(tmp_path))
    contract = signature_contract(str(tmp_path / 'serving'))
    assert contract['classification'] == {
        'method': 'tensorflow/serving/classify', 'inputs': {'inputs': {'dtype': 'DT_STRING', 'shape': [-1]}},
        'outputs': {'classes': {'dtype': 'DT_STRING', 'shape': [-1, 2]},
                    'scores': {'dtype': 'DT_FLOAT', 'shape': [-1, 2]}}}
    assert contract['serving_default']['outputs'] == {'prediction': {'dtype': 'DT_FLOAT', 'shape': [-1, 1]}}


class _Kill(tf.keras.callbacks.Callback):
    """Ends the fit as a killed process would, after the backup of epoch ``after``."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None) -> None:
        if epoch + 1 == self.after:
            raise KeyboardInterrupt(f'killed after epoch {self.after}')


class _Count(tf.keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.steps = 0
        self.first_epoch = None

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.first_epoch = epoch if self.first_epoch is None else self.first_epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.steps += 1


def _model_and_data(inputs, hparams=None):
    config = HOUSING.trainer_config(raw_examples=True, hparams={**HOUSING.hparams, 'steps_per_epoch': 10,
                                                                **(hparams or {})})
    fn_args = trainer_fn_args(inputs, Path(tempfile.mkdtemp()), 40, config)
    tft_output = tft.TFTransformOutput(inputs['transform_graph_uri'])
    built = native_fit_inputs(fn_args, config, tft_output)
    return config, built.model, built.train, built.evaluation


def test_a_killed_fit_resumes_from_its_last_epoch(housing_trainer_inputs, tmp_path, monkeypatch):
    backup = str(tmp_path / 'backup')
    config, model, train, evaluation = _model_and_data(housing_trainer_inputs)
    real_fit = tf.keras.Model.fit

    def fit_with(callback):
        def fit(self, *args, callbacks=(), **kwargs):
            return real_fit(self, *args, callbacks=[*callbacks, callback], **kwargs)
        return fit

    monkeypatch.setattr(tf.keras.Model, 'fit', fit_with(_Kill(after=2)))
    with pytest.raises(KeyboardInterrupt):
        native.fit(model, train, evaluation, config, 40, 2, backup, 16, str(tmp_path / 'logs'))
    count = _Count()
    monkeypatch.setattr(tf.keras.Model, 'fit', fit_with(count))
    config, fresh, train, evaluation = _model_and_data(housing_trainer_inputs)
    native.fit(fresh, train, evaluation, config, 40, 2, backup, 16, str(tmp_path / 'logs'))
    # 4 epochs of 10 steps; the first 2 were done and backed up: the second run trains the other 20.
    assert count.first_epoch == 2 and count.steps == 20, (count.first_epoch, count.steps)
    assert not tf.io.gfile.exists(backup) or not tf.io.gfile.listdir(backup)  # removed once done


def test_a_nan_loss_stops_training_with_the_step(housing_trainer_inputs, tmp_path):
    config, model, train, evaluation = _model_and_data(housing_trainer_inputs, {'learning_rate': 1e12})
    with pytest.raises(TrainingDivergedError, match=r'the training loss became NaN at step \d+ of 40'):
        native.fit(model, train, evaluation, config, 40, 2, str(tmp_path / 'b'), 16, str(tmp_path / 'logs'))


def test_a_warm_start_takes_the_last_models_weights(trained, housing_trainer_inputs):
    _, model, _, _ = _model_and_data(housing_trainer_inputs)
    last = tf.saved_model.load(trained.serving_model_dir).model
    before = {v.name: v.numpy() for v in model.variables}
    assigned = native.warm_start(model, trained.serving_model_dir)
    assert assigned == len(model.variables) > 0
    saved = {v.name: v.numpy() for v in last.variables}
    changed = 0
    for variable in model.variables:
        np.testing.assert_array_equal(variable.numpy(), saved[variable.name], err_msg=variable.name)
        changed += not np.array_equal(before[variable.name], saved[variable.name])
    assert changed > 0  # the weights were not already those


def test_legacy_only_modes_are_refused_naming_the_legacy_stack(housing_trainer_inputs, tmp_path):
    config = dataclasses.replace(HOUSING.trainer_config(), mode='canned', model_builder=None)
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path, 5, config)
    with pytest.raises(stack.StackError, match="Trainer mode 'canned' of 'housing' needs the legacy stack"):
        run_fn(fn_args)


def test_the_random_seed_makes_a_native_fit_repeatable(housing_trainer_inputs):
    """The same starting weights each time, as the Estimator's tf_random_seed gives the legacy stack."""
    first = _model_and_data(housing_trainer_inputs)[1].get_weights()
    second = _model_and_data(housing_trainer_inputs)[1].get_weights()
    assert len(first) == len(second) > 0
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
