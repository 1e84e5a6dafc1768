"""mobilenet model: MobileNetV2 base -> pooling -> softmax head; base weights from a named file, then frozen."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from tests.conftest import tfrecord_examples
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.mobilenet import features as F
from tfx_keras_estimator.components.recipes.mobilenet.model import BASE_NAME, build_base, build_keras_model
from tfx_keras_estimator.components.trainer.model import build_model, check_model_inputs, compile_model, import_by_path
from tfx_keras_estimator.pipelines.data import load_schema

RECIPE = get_recipe('mobilenet')
IMAGE_FLOATS = F.IMAGE_SIZE * F.IMAGE_SIZE * F.CHANNELS


@pytest.fixture(scope='module')
def mobilenet_tft(tmp_path_factory, mobilenet_tfrecord):
    """A real transform graph, analyzed over a few shipped images."""
    import tensorflow_transform as tft

    instances = []
    for record in tfrecord_examples(mobilenet_tfrecord, 8):
        feature = tf.train.Example.FromString(record).features.feature
        instances.append({F.IMAGE_KEY: list(feature[F.IMAGE_KEY].bytes_list.value),
                          F.LABEL_KEY: list(feature[F.LABEL_KEY].int64_list.value)})
    metadata = dataset_metadata.DatasetMetadata(load_schema(RECIPE.schema_path))
    out_dir = str(tmp_path_factory.mktemp('mobilenet-tft'))
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        transform_fn = (instances, metadata) | tft_beam.AnalyzeDataset(
            import_by_path(RECIPE.preprocessing_fn))
        _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
    return tft.TFTransformOutput(out_dir)


@pytest.fixture(scope='module')
def weights_file(tmp_path_factory):
    """A base's weights saved as .h5 (as Keras's ImageNet files are), and the saved arrays."""
    tf.keras.utils.set_random_seed(7)
    base = build_base({'alpha': 0.35})
    path = tmp_path_factory.mktemp('weights') / 'mobilenet_v2_0.35_no_top.h5'
    base.save_weights(str(path))
    return str(path), [w.copy() for w in base.get_weights()]


def test_the_guides_transfer_model_on_transform_outputs(mobilenet_tft):
    model = build_model(import_by_path(RECIPE.model_builder), mobilenet_tft, dict(RECIPE.hparams))
    features = mobilenet_tft.transformed_feature_spec()
    assert check_model_inputs(model, features, RECIPE.transformed_label_key) == [F.TRANSFORMED_IMAGE_KEY]
    assert list(features[F.TRANSFORMED_IMAGE_KEY].shape) == [IMAGE_FLOATS]
    assert model.input_shape == {F.TRANSFORMED_IMAGE_KEY: (None, IMAGE_FLOATS)}
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ['InputLayer', 'Reshape', 'Functional', 'GlobalAveragePooling2D', 'Dense']
    base = model.get_layer(BASE_NAME)
    # alpha 0.35: the first convolution has 16 filters (32 * 0.35, rounded up to a multiple of 8),
    # the last 1280 (MobileNetV2 keeps 1280 for alpha <= 1); a 32x32 image ends as a 1x1 map.
    assert base.get_layer('Conv1').filters == 16
    assert base.output_shape == (None, 1, 1, 1280)
    prediction = model.get_layer('prediction')
    assert prediction.units == 10 and prediction.activation is tf.keras.activations.softmax
    assert model.output_names == [RECIPE.prediction_key] and model.output_shape == (None, 10)


def test_random_base_trains_with_quick_batch_norm():
    model = build_keras_model(None, dict(RECIPE.hparams))
    base = model.get_layer(BASE_NAME)
    assert base.trainable and len(base.trainable_weights) > 100
    norms = [layer for layer in base.layers if isinstance(layer, tf.keras.layers.BatchNormalization)]
    assert norms and all(layer.momentum == 0.9 for layer in norms)


def test_missing_weights_file_names_the_path(tmp_path):
    missing = str(tmp_path / 'no_such_weights.h5')
    with pytest.raises(ValueError, match=f"base weights file '{missing}' .* does not exist"):
        build_keras_model(None, {**RECIPE.hparams, 'base_weights': missing})


def test_weights_file_of_another_model_names_the_path(tmp_path):
    other = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    path = str(tmp_path / 'dense.h5')
    other.save_weights(path)
    with pytest.raises(ValueError, match=f"cannot load base weights from '{path}' into MobileNetV2 alpha 0.35"):
        build_keras_model(None, {**RECIPE.hparams, 'base_weights': path})


def test_weights_file_is_loaded_and_the_base_frozen(weights_file):
    path, saved = weights_file
    model = build_keras_model(None, {**RECIPE.hparams, 'base_weights': path})
    base = model.get_layer(BASE_NAME)
    loaded = base.get_weights()
    assert len(loaded) == len(saved) == 260
    for a, b in zip(loaded, saved, strict=True):
        np.testing.assert_array_equal(a, b)
    # Not the same by chance: a build without the file starts elsewhere.
    fresh = build_keras_model(None, dict(RECIPE.hparams)).get_layer(BASE_NAME).get_weights()
    assert not np.array_equal(fresh[0], saved[0])
    assert not base.trainable and base.trainable_weights == []
    assert [w.name for w in model.trainable_weights] == ['prediction/kernel:0', 'prediction/bias:0']
    # fine_tune=True trains a loaded base too.
    tuned = build_keras_model(None, {**RECIPE.hparams, 'base_weights': path, 'fine_tune': True})
    assert tuned.get_layer(BASE_NAME).trainable


def test_frozen_base_survives_estimator_training(weights_file, tmp_path):
    """Through model_to_estimator (a clone of the model), training moves the head and nothing of the base:
    no kernel, and no BatchNormalization statistic (inference mode)."""
    path, _ = weights_file
    model = build_keras_model(None, {**RECIPE.hparams, 'base_weights': path})
    compile_model(model, RECIPE.task, {**RECIPE.hparams, 'learning_rate': 0.1})
    base = model.get_layer(BASE_NAME)
    before = {w.name.split(':')[0]: w.numpy() for w in model.weights}
    estimator = tf.keras.estimator.model_to_estimator(
        keras_model=model, model_dir=str(tmp_path / 'estimator'), checkpoint_format='saver')

    def input_fn():
        rng = np.random.RandomState(0)
        images = rng.uniform(-1, 1, (16, IMAGE_FLOATS)).astype(np.float32)
        labels = rng.randint(0, 10, (16, 1))
        return tf.data.Dataset.from_tensor_slices(({F.TRANSFORMED_IMAGE_KEY: images}, labels)).batch(8).repeat()

    estimator.train(input_fn, steps=3)
    names = set(estimator.get_variable_names())
    base_names = [w.name.split(':')[0] for w in base.weights]
    checked = [n for n in base_names if n in names]
    assert len(checked) == len(base_names), sorted(set(base_names) - names)[:5]
    assert any(n.endswith('moving_mean') for n in checked)
    for name in checked:
        np.testing.assert_array_equal(estimator.get_variable_value(name), before[name], err_msg=name)
    assert not np.allclose(estimator.get_variable_value('prediction/kernel'), before['prediction/kernel'])
