"""The recipes' TFT helpers: dense scalars, and vocabularies counted per batch.

``counted_per_batch`` only changes how TFT counts (in the graph per batch instead of one
Beam element per value): the vocabulary files must be the very files TFT writes without
it, ranks, ties, cut-offs and all. TFT runs for real on Beam over rows spread across many
small batches, so counts are added up across batches.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from tfx_keras_estimator.components.recipes.tft_utils import (
    counted_per_batch,
    filled_with_mean,
    to_dense_scalar,
    values_and_presence,
)

SPEC = {'token': tf.io.FixedLenFeature([], tf.string)}


def _rows():
    # Counts with ties (b and c: 30 each; d and e: 7 each) and a long tail of ones.
    rng = np.random.default_rng(0)
    tokens = ['a'] * 41 + ['b'] * 30 + ['c'] * 30 + ['d'] * 7 + ['e'] * 7 + [f't{i}' for i in range(25)]
    rng.shuffle(tokens)
    return [{'token': t.encode()} for t in tokens]


def _vocabulary_files(weighted: bool, **vocabulary_args) -> dict:
    def preprocessing_fn(inputs):
        token = inputs['token']
        weights = counted_per_batch(token) if weighted else None
        return {'id': tft.compute_and_apply_vocabulary(token, weights=weights, vocab_filename='token',
                                                       **vocabulary_args)}

    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(SPEC))
    with tempfile.TemporaryDirectory() as tmp:
        # Batches of 8: every count is a sum over several batches.
        with tft_beam.Context(temp_dir=tmp, desired_batch_size=8, force_tf_compat_v1=True):
            transform_fn = (_rows(), metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
            _ = transform_fn | tft_beam.WriteTransformFn(f'{tmp}/out')
        assets = Path(f'{tmp}/out/transform_fn/assets')
        return {p.name: p.read_bytes() for p in assets.iterdir()}


@pytest.mark.parametrize('vocabulary_args', [{}, {'top_k': 4}, {'frequency_threshold': 7}],
                         ids=['all', 'top_k', 'threshold'])
def test_counted_per_batch_writes_the_vocabulary_tft_writes(vocabulary_args):
    plain = _vocabulary_files(False, **vocabulary_args)
    weighted = _vocabulary_files(True, **vocabulary_args)
    assert weighted == plain and list(plain) == ['token']
    tokens = plain['token'].decode().splitlines()
    assert tokens[:3] == ['a', 'c', 'b']  # by count, ties by value (descending), as TFT ranks them
    if 'top_k' in vocabulary_args:
        assert tokens == ['a', 'c', 'b', 'e']
    if 'frequency_threshold' in vocabulary_args:
        assert tokens == ['a', 'c', 'b', 'e', 'd']


def test_counted_per_batch_is_a_float_one_per_value():
    weights = counted_per_batch(tf.constant(['x', 'y', 'x']))
    assert weights.dtype == tf.float32 and weights.numpy().tolist() == [1.0, 1.0, 1.0]
    # A sparse x (a bag of words, say) is weighted per value, as TFT takes it.
    bag = tf.SparseTensor(indices=[[0, 0], [0, 3], [2, 1]], values=tf.constant(['a', 'b', 'a']), dense_shape=[3, 5])
    assert counted_per_batch(bag).numpy().tolist() == [1.0, 1.0, 1.0]


def test_counted_per_batch_on_sparse_words_writes_the_vocabulary_tft_writes():
    def files(weighted: bool) -> dict:
        def preprocessing_fn(inputs):
            words = tf.strings.split(inputs['text']).to_sparse()
            tft.vocabulary(words, frequency_threshold=2, vocab_filename='words',
                           weights=counted_per_batch(words) if weighted else None)
            return {'text': inputs['text']}

        texts = ['a b c', 'b c', 'c d', 'a a e', 'b', 'c f f', 'g']
        metadata = dataset_metadata.DatasetMetadata(
            schema_utils.schema_from_feature_spec({'text': tf.io.FixedLenFeature([], tf.string)}))
        with tempfile.TemporaryDirectory() as tmp:
            with tft_beam.Context(temp_dir=tmp, desired_batch_size=2, force_tf_compat_v1=True):
                transform_fn = ([{'text': t.encode()} for t in texts], metadata) | tft_beam.AnalyzeDataset(
                    preprocessing_fn)
                _ = transform_fn | tft_beam.WriteTransformFn(f'{tmp}/out')
            return {p.name: p.read_bytes() for p in Path(f'{tmp}/out/transform_fn/assets').iterdir()}

    plain = files(False)
    assert files(True) == plain
    assert plain['words'].decode().splitlines() == ['c', 'b', 'a', 'f']


def test_to_dense_scalar_fills_missing_values():
    sparse = tf.SparseTensor(indices=[[0, 0], [2, 0]], values=tf.constant([3, 5], tf.int64), dense_shape=[3, 1])
    assert to_dense_scalar(sparse).numpy().tolist() == [3, 0, 5]
    assert to_dense_scalar(sparse, default=-1).numpy().tolist() == [3, -1, 5]
    text = tf.SparseTensor(indices=[[1, 0]], values=tf.constant(['b']), dense_shape=[2, 1])
    assert to_dense_scalar(text).numpy().tolist() == [b'', b'b']
    assert to_dense_scalar(tf.constant([[1.5], [2.5]])).numpy().tolist() == [1.5, 2.5]


def test_a_missing_number_is_filled_with_the_training_mean():
    """Sparse input as the optional schema features give it: the fill is the mean of the values
    present, and the mask says which rows had one."""
    def preprocessing_fn(inputs):
        _, present = values_and_presence(inputs['v'])
        return {'filled': filled_with_mean(inputs['v']), 'present': tf.cast(present, tf.int64)}

    values = [[2.0], [], [4.0], [9.0], []]
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(
        {'v': tf.io.VarLenFeature(tf.float32)}))
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        (rows, _), _ = ([{'v': v} for v in values], metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False)
    assert [r['present'] for r in rows] == [1, 0, 1, 1, 0]
    np.testing.assert_allclose([r['filled'] for r in rows], [2.0, 5.0, 4.0, 9.0, 5.0])
