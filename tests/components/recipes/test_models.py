"""The recipes' Keras models build on real transform graphs and match their features."""

from __future__ import annotations

import pytest
import tensorflow as tf

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer.model import build_model, check_model_inputs, import_by_path


@pytest.mark.parametrize('recipe_name, fixture',
                         [('housing', 'housing_tft'), ('taxi', 'taxi_tft'), ('digits', 'digits_tft')])
def test_model_inputs_are_transform_outputs(recipe_name, fixture, request):
    recipe = get_recipe(recipe_name)
    tft_output = request.getfixturevalue(fixture)
    model = build_model(import_by_path(recipe.model_builder), tft_output, dict(recipe.hparams))
    features = tft_output.transformed_feature_spec().keys()
    inputs = check_model_inputs(model, features, recipe.transformed_label_key)
    # Every transformed feature but the label feeds the model.
    assert sorted(inputs) == sorted(k for k in features if k != recipe.transformed_label_key)
    assert model.output_names == [recipe.prediction_key]
    # Each input has the rank of its transformed feature: TFT scalars arrive as [batch],
    # fixed-length vectors (the digits image) as [batch, n] with the same n.
    specs = tft_output.transformed_feature_spec()
    for i in model.inputs:
        spec_shape = list(specs[i.name.split(':')[0]].shape)
        assert i.shape.as_list() == [None, *spec_shape], (i.name, i.shape, spec_shape)


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


def test_digits_is_the_blog_posts_cnn(digits_tft):
    recipe = get_recipe('digits')
    model = build_model(import_by_path(recipe.model_builder), digits_tft, dict(recipe.hparams))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ['InputLayer', 'Reshape', 'Conv2D', 'Conv2D', 'MaxPooling2D', 'Dropout', 'Flatten',
                     'Dense', 'Dropout', 'Dense']
    convs = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64] and all(c.kernel_size == (3, 3) for c in convs)
    assert model.input_shape == {'image_xf': (None, 64)}
    prediction = model.get_layer('prediction')
    assert prediction.units == 10 and prediction.activation is tf.keras.activations.softmax
    assert model.output_shape == (None, 10)
