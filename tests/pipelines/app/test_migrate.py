"""The migration check's parts: the serving contract read from saved_model.pb and compared, the
prediction agreement, the verdict by the recipe's gate, and the other environment's Python.
(Both stacks trained and compared for real: tests/e2e/test_modern_stack.py.)"""

from __future__ import annotations

import pytest
import tensorflow as tf

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import stack
from tfx_keras_estimator.pipelines.app import migrate

pytestmark = pytest.mark.both_stacks


def _saved_model(path, output_dtype=tf.float32) -> str:
    module = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def serve(examples):
        return {'prediction': tf.cast(tf.reshape(tf.strings.length(examples), [-1, 1]), output_dtype)}

    tf.saved_model.save(module, str(path), signatures={'serving_default': serve.get_concrete_function()})
    return str(path)


def test_the_contract_is_read_from_the_saved_proto_and_a_changed_dtype_is_named(tmp_path):
    legacy = migrate.signature_contract(_saved_model(tmp_path / 'a'))
    assert legacy == {'serving_default': {'method': 'tensorflow/serving/predict',
                                          'inputs': {'examples': {'dtype': 'DT_STRING', 'shape': [-1]}},
                                          'outputs': {'prediction': {'dtype': 'DT_FLOAT', 'shape': [-1, 1]}}}}
    assert migrate.compare_contracts(legacy, legacy) == []
    changed = migrate.signature_contract(_saved_model(tmp_path / 'b', tf.float64))
    (difference,) = migrate.compare_contracts(legacy, changed)
    assert "signature 'serving_default': outputs" in difference and 'DT_DOUBLE' in difference
    assert migrate.compare_contracts({**legacy, 'regression': legacy['serving_default']}, legacy) == [
        "signature 'regression' is missing"]
    # A signature more on the modern side breaks no client of the legacy export.
    assert migrate.compare_contracts(legacy, {**legacy, 'transform_features': {}}) == []


def test_agreement_of_regressors_and_classifiers():
    regression = migrate.agreement('regression', [[1.0], [2.0], [3.0]], [[1.5], [2.0], [2.0]])
    assert regression == {'rows': 3, 'max_abs_diff': 1.0, 'mean_abs_diff': 0.5}
    binary = migrate.agreement('binary_classification', [[0.9], [0.2], [0.6]], [[0.8], [0.4], [0.4]])
    assert binary['same_class_share'] == pytest.approx(2 / 3)
    multiclass = migrate.agreement('multiclass_classification', [[0.1, 0.9], [0.7, 0.3]], [[0.2, 0.8], [0.4, 0.6]])
    assert multiclass['same_class_share'] == 0.5
    with pytest.raises(ValueError, match='answered'):
        migrate.agreement('regression', [[1.0]], [[1.0], [2.0]])


def _summary(rmse, blessed=True):
    return {'metrics': {'rmse': rmse}, 'blessed': blessed}


def test_the_verdict_is_the_recipes_gate():
    gate = get_recipe('housing').gate  # rmse, lower is better, change tolerance 0.5
    assert migrate.verdict(_summary(4.6), _summary(4.9), [], gate)[0] is True
    safe, why = migrate.verdict(_summary(4.6), _summary(5.2), [], gate)
    assert not safe and 'worse than 4.6 by 0.6' in why
    assert migrate.verdict(_summary(4.6), _summary(4.0, blessed=False), [], gate) == (
        False, 'the modern model was not blessed')
    assert migrate.verdict(_summary(4.6), _summary(4.0), ['x'], gate)[1].startswith('the serving contract changed')


def test_the_other_environment_is_found_beside_this_one_or_named(tmp_path, monkeypatch):
    monkeypatch.setattr(migrate.sys, 'prefix', str(tmp_path / '.venv-x'))
    other = stack.LEGACY if stack.current() == stack.MODERN else stack.MODERN
    with pytest.raises(ValueError, match=f'no {other} environment at {tmp_path}/{migrate.VENV_NAMES[other]}'):
        migrate.other_python(None)
    assert migrate.other_python('/some/python') == '/some/python'
    python = tmp_path / migrate.VENV_NAMES[other] / 'bin' / 'python'
    python.parent.mkdir(parents=True)
    python.write_text('')
    assert migrate.other_python(None) == str(python)
