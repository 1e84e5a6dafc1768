"""Labelled weights: folding BatchNormalization in gives the model's own predictions back."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.housing.model import build_keras_model, weight_labels
from tfx_keras_estimator.components.trainer.weights import linear_weights


def _reader(model):
    values = {w.name.split(':')[0]: w.numpy() for w in model.weights}
    return lambda name: values[name]


def test_folded_weights_reproduce_the_predictions():
    rng = np.random.default_rng(0)
    inputs = tf.keras.Input(shape=(4,))
    x = tf.keras.layers.BatchNormalization(name='batch_norm')(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1, name='prediction')(x))
    for weight in model.weights:
        shape = weight.shape
        value = rng.uniform(0.5, 2.0, shape) if 'variance' in weight.name else rng.normal(size=shape)
        weight.assign(value.astype(np.float32))
    labels = ['a', 'b', 'c', 'd']
    result = linear_weights(_reader(model), labels, batch_norm_layer='batch_norm')
    features = rng.normal(size=(5, 4)).astype(np.float32)
    expected = model(features, training=False).numpy()[:, 0]
    by_label = {w['label']: w['weight'] for w in result['weights']}
    manual = result['bias'] + features @ np.array([by_label[k] for k in labels])
    np.testing.assert_allclose(manual, expected, rtol=1e-4, atol=1e-4)
    magnitudes = [abs(w['weight']) for w in result['weights']]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_label_count_must_match():
    read = {'prediction/kernel': np.ones((3, 1)), 'prediction/bias': np.zeros(1)}.__getitem__
    with pytest.raises(ValueError, match='2 labels for 3 weights'):
        linear_weights(read, ['a', 'b'])


def test_housing_labels_cover_every_input_of_the_output_unit(housing_tft):
    model = build_keras_model(housing_tft, get_recipe('housing').hparams)
    labels = weight_labels(housing_tft)
    assert len(labels) == model.get_layer('prediction').input_shape[-1]
    assert labels[:2] == ['crim', 'zn']
    assert 'chas=0' in labels and 'chas=1' in labels and 'chas=<other>' in labels
    assert any(label.startswith('rad=') for label in labels)
    assert 'rm quantile bucket 0' in labels
    crossed = [label for label in labels if ' x lstat bucket ' in label]
    assert len(crossed) > 50, 'most hash buckets hold one or more (rm, lstat) bucket pairs'
