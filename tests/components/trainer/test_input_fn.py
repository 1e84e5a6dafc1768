"""input_fns: raw examples with the transform graph applied give the batches that
Transform's materialized examples give, in an Estimator's graph and in eager Keras."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from components.recipes import get_recipe
from components.trainer.input_fn import make_input_fn
from tests.components.trainer.fn_args import trainer_fn_args

HOUSING = get_recipe('housing')
BATCH = 16


def _input_fn(inputs: Dict[str, str], raw: bool, split: str = 'train'):
    # The files and DataAccessor the Trainer executor hands run_fn.
    fn_args = trainer_fn_args(inputs, Path(tempfile.mkdtemp()), 1, HOUSING.trainer_config(raw_examples=raw))
    files = fn_args.train_files if split == 'train' else fn_args.eval_files
    tft_output = tft.TFTransformOutput(inputs['transform_graph_uri'])
    keys = [k for k in tft_output.transformed_feature_spec() if k != HOUSING.task_spec.transformed_label_key]
    return make_input_fn(files, fn_args.data_accessor, tft_output, HOUSING.task_spec.transformed_label_key, keys,
                         BATCH, shuffle=False, raw=raw)


def _first_batch_in_a_graph(input_fn) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """As an Estimator runs an input_fn: in a graph, tables initialized by the scaffold's ops."""
    with tf.Graph().as_default():
        result = input_fn()
        if isinstance(result, tf.data.Dataset):
            result = tf.compat.v1.data.make_one_shot_iterator(result).get_next()
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            return session.run(result)


def _assert_same_batch(a, b) -> None:
    (features_a, label_a), (features_b, label_b) = a, b
    assert set(features_a) == set(features_b) and len(features_a) > 5
    for key in features_a:
        np.testing.assert_allclose(np.asarray(features_a[key]), np.asarray(features_b[key]), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    assert np.asarray(label_a).shape == (BATCH, 1)
    np.testing.assert_allclose(np.asarray(label_a), np.asarray(label_b), rtol=1e-6)


@pytest.mark.parametrize('split', ['train', 'eval'])
def test_raw_examples_transformed_in_an_estimator_graph_equal_the_materialized_ones(housing_trainer_inputs, split):
    raw = _input_fn(housing_trainer_inputs, raw=True, split=split)
    materialized = _input_fn(housing_trainer_inputs, raw=False, split=split)
    _assert_same_batch(_first_batch_in_a_graph(raw), _first_batch_in_a_graph(materialized))


def test_raw_examples_transformed_eagerly_for_keras_fit_equal_the_materialized_ones(housing_trainer_inputs):
    raw = _input_fn(housing_trainer_inputs, raw=True)()
    materialized = _input_fn(housing_trainer_inputs, raw=False)()
    assert isinstance(raw, tf.data.Dataset)
    _assert_same_batch(next(iter(raw)), next(iter(materialized)))


def test_the_materialized_input_fn_keeps_only_the_model_inputs(housing_trainer_inputs):
    features, _ = next(iter(_input_fn(housing_trainer_inputs, raw=False)()))
    assert HOUSING.task_spec.transformed_label_key not in features
