"""export.parse_requests: what the serving signature does with rows that lack a feature."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfx_keras_estimator.components.trainer import export

SPEC = {
    'x': tf.io.FixedLenFeature([1], tf.float32),        # strict: the schema gave it a shape
    'pair': tf.io.FixedLenFeature([2], tf.int64),       # strict, two values
    'n': tf.io.VarLenFeature(tf.int64),                 # optional
    'd': tf.io.FixedLenFeature([1], tf.string, default_value=['?']),  # a default: never refused
}


def _example(**features) -> bytes:
    example = tf.train.Example()
    for key, values in features.items():
        feature = example.features.feature[key]
        if key == 'x':
            feature.float_list.value.extend(values)
        elif key == 'd':
            feature.bytes_list.value.extend(v.encode() for v in values)
        else:
            feature.int64_list.value.extend(values)
    return example.SerializeToString()


def test_complete_rows_parse_as_parse_example_parses_them():
    rows = tf.constant([_example(x=[1.5], pair=[1, 2], n=[7]), _example(x=[2.0], pair=[3, 4], d=['z'])])
    ours = export.parse_requests(rows, SPEC)
    theirs = tf.io.parse_example(rows, SPEC)
    for key in ('x', 'pair', 'd'):
        assert ours[key].shape.as_list()[1:] == theirs[key].shape.as_list()[1:]
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
    np.testing.assert_array_equal(tf.sparse.to_dense(ours['n']).numpy(), tf.sparse.to_dense(theirs['n']).numpy())


def test_optional_features_may_be_missing():
    parsed = export.parse_requests(tf.constant([_example(x=[1.0], pair=[1, 2])]), SPEC)
    assert parsed['n'].values.shape == (0,) and parsed['d'].numpy().tolist() == [[b'?']]


@pytest.mark.parametrize('rows, feature, bad', [
    ([_example(x=[1.0], pair=[1, 2]), _example(pair=[1, 2]), _example(x=[3.0], pair=[1, 2]), _example()],
     'x', r'\[1 3\]'),
    ([_example(x=[1.0], pair=[1, 2]), _example(x=[1.0], pair=[5])], 'pair', r'\[1\]'),
])
def test_a_strict_feature_a_row_lacks_is_refused_naming_feature_and_rows(rows, feature, bad):
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"requires feature '{feature}'.*lack it.*{bad}"):
        export.parse_requests(tf.constant(rows), SPEC)


def test_an_empty_batch_parses():
    parsed = export.parse_requests(tf.constant([], tf.string), SPEC)
    assert parsed['x'].shape.as_list() == [0, 1] and parsed['pair'].shape.as_list() == [0, 2]
