"""The generic Keras model over a real transform output of a mixed table (with a cross):
what each transformed feature becomes, and that it predicts."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from tests.conftest import csv_rows
from tests.init_tables import mixed_taxi_csv
from tests.tft_helpers import write_transform_output
from tfx_keras_estimator.components.recipes import load_recipe
from tfx_keras_estimator.components.recipes.generic import model
from tfx_keras_estimator.components.recipes.generic.preprocessing import preprocessing_fn
from tfx_keras_estimator.components.recipes.generic.roles import Roles, transformed
from tfx_keras_estimator.components.trainer.task import REGRESSION
from tfx_keras_estimator.pipelines.app import init
from tfx_keras_estimator.pipelines.data import load_schema

CROSS = ('company', 'trip_start_hour')


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp('generic_model')
    csv_path = mixed_taxi_csv(work / 'trips.csv', rows=300)
    folder = init.write_recipe(init.infer(csv_path, 'payment_type'), work / 'trips_recipe', 'trips')
    recipe = load_recipe(str(folder))
    config = {**recipe.transform_custom_config(), 'crosses': [list(CROSS)]}
    rows = csv_rows(csv_path, 300)
    tft_output = write_transform_output(functools.partial(preprocessing_fn, custom_config=config), rows,
                                        load_schema(folder / 'schema.pbtxt'), str(work / 'transform'),
                                        recipe.missing_tokens)
    return recipe, Roles.from_config(config), tft_output


def _features(tft_output: tft.TFTransformOutput, label_key: str, rows: int = 8):
    """Transformed-feature-shaped inputs: zeros, and ids in range."""
    features = {}
    for key, spec in tft_output.transformed_feature_spec().items():
        if key != label_key:
            features[key] = tf.zeros([rows], spec.dtype)
    return features


def test_numbers_are_inputs_and_categories_and_crosses_are_embedded(built):
    recipe, roles, tft_output = built
    keras_model = model.build(tft_output, dict(recipe.hparams), recipe.task_spec)
    inputs = {i.name: i.dtype for i in keras_model.inputs}
    assert inputs[transformed('fare')] == tf.float32
    assert inputs[transformed('company')] == tf.int64
    cross = transformed('company_x_trip_start_hour')
    assert inputs[cross] == tf.int64, 'the cross is a categorical input'
    size = int(tft_output.num_buckets_for_transformed_feature(cross))
    assert size > int(tft_output.num_buckets_for_transformed_feature(transformed('company')))
    embedding = keras_model.get_layer(f'{cross}_embedding')
    assert embedding.input_dim == size and embedding.output_dim == model.embedding_dim(size)
    assert keras_model.get_layer(f'{cross}_one_hot').num_tokens == size
    out = keras_model(_features(tft_output, recipe.transformed_label_key))
    assert out.shape == (8, len(recipe.class_labels))
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-5)


def test_regression_serves_in_the_label_units(built):
    recipe, _, tft_output = built
    task = dataclasses.replace(recipe.task_spec, task=REGRESSION, class_labels=())
    hparams = {**recipe.hparams, 'label_mean': 12.5, 'label_std': 4.0}
    keras_model = model.build(tft_output, hparams, task)
    features = _features(tft_output, recipe.transformed_label_key)
    z = tf.keras.Model(keras_model.inputs, keras_model.get_layer('z_prediction').output)(features)
    np.testing.assert_allclose(keras_model(features).numpy(), z.numpy() * 4.0 + 12.5, rtol=1e-5)

