"""The recipes' Keras models build on real transform graphs and match their features."""

from __future__ import annotations

import pytest
import tensorflow as tf

from components.recipes import get_recipe
from components.trainer.model import build_model, check_model_inputs, import_by_path


@pytest.mark.parametrize('recipe_name, fixture', [('housing', 'housing_tft'), ('taxi', 'taxi_tft')])
def test_model_inputs_are_transform_outputs(recipe_name, fixture, request):
    recipe = get_recipe(recipe_name)
    tft_output = request.getfixturevalue(fixture)
    model = build_model(import_by_path(recipe.model_builder), tft_output, dict(recipe.hparams))
    features = tft_output.transformed_feature_spec().keys()
    inputs = check_model_inputs(model, features, recipe.transformed_label_key)
    # Every transformed feature but the label feeds the model.
    assert sorted(inputs) == sorted(k for k in features if k != recipe.transformed_label_key)
    assert model.output_names == [recipe.prediction_key]
    assert all(i.shape.rank == 1 for i in model.inputs), 'TFT scalars arrive as [batch]'


def test_housing_is_linear_with_batch_norm(housing_tft):
    recipe = get_recipe('housing')
    model = build_model(import_by_path(recipe.model_builder), housing_tft, {})
    dense = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Dense)]
    assert len(dense) == 1 and dense[0].units == 1 and dense[0].activation is tf.keras.activations.linear
    assert any(isinstance(layer, tf.keras.layers.BatchNormalization) for layer in model.layers)


def test_taxi_is_wide_and_deep(taxi_tft):
    recipe = get_recipe('taxi')
    model = build_model(import_by_path(recipe.model_builder), taxi_tft, {'deep_units': [8, 4], 'l2': 1e-4})
    names = [layer.name for layer in model.layers]
    assert {'wide', 'deep_0', 'deep_1', 'wide_and_deep'} <= set(names)
    assert model.get_layer('prediction').activation is tf.keras.activations.sigmoid
