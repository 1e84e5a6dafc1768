"""The text recipe's Keras model: the bag-of-words post's MLP on a real transform graph.

Also runs the model on Transform's sparse word ids, both as Keras and through
``model_to_estimator``'s predict path, since sparse inputs are what makes this
recipe different from the others.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.text import features as F
from tfx_keras_estimator.components.recipes.text.model import SparseBag, SparseDropout
from tfx_keras_estimator.components.trainer.model import build_model, check_model_inputs, compile_model, import_by_path


@pytest.fixture(scope='module')
def model(text_tft):
    recipe = get_recipe('text')
    return build_model(import_by_path(recipe.model_builder), text_tft, dict(recipe.hparams))


def test_is_the_posts_bag_of_words_mlp(model, text_tft):
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ['InputLayer', 'SparseBag', 'SparseDropout', 'Dense', 'Dropout', 'Dense']
    assert model.get_layer('word_dropout').rate == get_recipe('text').hparams['input_dropout'] > 0
    hidden = model.get_layer('hidden')
    assert hidden.units == 512 and hidden.activation is tf.keras.activations.relu
    assert model.get_layer('dropout').rate == 0.5
    prediction = model.get_layer('prediction')
    assert prediction.units == 20 and prediction.activation is tf.keras.activations.softmax
    # The first layer's width is the vocabulary Transform built.
    assert hidden.kernel.shape == (len(text_tft.vocabulary_by_name(F.VOCAB_FILENAME)), 512)


def test_only_the_word_ids_feed_the_model(model, text_tft):
    recipe = get_recipe('text')
    features = text_tft.transformed_feature_spec()
    assert check_model_inputs(model, features, recipe.transformed_label_key) == [F.TRANSFORMED_WORD_IDS_KEY]
    assert isinstance(features[F.TRANSFORMED_WORD_IDS_KEY], tf.io.VarLenFeature)
    assert not any('package' in name for name in [*model.input_names, *features])
    assert model.output_names == [recipe.prediction_key]


def test_sparse_bag_puts_a_one_at_each_id():
    # Ids past the end (5: the out-of-vocabulary id of a 5-word vocabulary) and negative ones are skipped.
    ids = tf.SparseTensor(indices=[[0, 0], [0, 1], [0, 2], [1, 0], [2, 0]],
                          values=tf.constant([3, -1, 1, 5, 4], tf.int64), dense_shape=[3, 3])
    bag = tf.sparse.to_dense(SparseBag(5)(ids)).numpy()
    np.testing.assert_array_equal(bag, [[0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    assert SparseBag.from_config(SparseBag(5).get_config()).size == 5


def test_sparse_dropout_drops_and_rescales_words_only_in_training():
    bag = SparseBag(1000)(tf.SparseTensor(indices=[[i // 1000, i % 1000] for i in range(20000)],
                                           values=tf.constant([i % 1000 for i in range(20000)], tf.int64),
                                           dense_shape=[20, 1000]))
    layer = SparseDropout(0.25, seed=1)
    trained = layer(bag, training=True)
    kept = trained.values.numpy()
    # Each word is kept with probability 0.75 (20,000 draws: 15,000 +- ~61) and weighs 1 / 0.75.
    assert abs(len(kept) - 15000) < 400
    np.testing.assert_allclose(kept, 1 / 0.75)
    assert set(map(tuple, trained.indices.numpy())) < set(map(tuple, bag.indices.numpy()))
    # The expected input of the next layer is unchanged.
    assert abs(float(tf.sparse.reduce_sum(trained)) - 20000) < 600
    for off in (layer(bag, training=False), layer(bag), SparseDropout(0.0)(bag, training=True)):
        np.testing.assert_array_equal(tf.sparse.to_dense(off).numpy(), tf.sparse.to_dense(bag).numpy())
    # A graph-mode learning phase (a boolean tensor) picks the branch at run time.
    training = tf.constant(True)
    assert len(layer(bag, training=training).values) < 20000
    assert SparseDropout.from_config(layer.get_config()).rate == 0.25
    with pytest.raises(ValueError, match='rate'):
        SparseDropout(1.0)


def test_predicts_20_probabilities_from_sparse_ids_as_keras_and_as_estimator(model, text_tft, tmp_path):
    recipe = get_recipe('text')
    # Row 1 has no known word: it must still get a probability row, not be dropped.
    def ids() -> tf.SparseTensor:
        return tf.SparseTensor(indices=[[0, 0], [0, 1], [2, 0]], values=tf.constant([0, 5, 2], tf.int64),
                               dense_shape=[3, 2])

    probabilities = model({F.TRANSFORMED_WORD_IDS_KEY: ids()}).numpy()
    assert probabilities.shape == (3, 20)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)

    compile_model(model, recipe.task, dict(recipe.hparams))
    estimator = tf.keras.estimator.model_to_estimator(keras_model=model, model_dir=str(tmp_path))

    def input_fn():
        return tf.data.Dataset.from_tensors({F.TRANSFORMED_WORD_IDS_KEY: ids()})

    predictions = [p[recipe.prediction_key] for p in estimator.predict(input_fn)]
    assert len(predictions) == 3
    # Dropout is off at prediction: the Estimator gives the Keras model's own answers.
    np.testing.assert_allclose(np.stack(predictions), probabilities, rtol=1e-4, atol=1e-6)
