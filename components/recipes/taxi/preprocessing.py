"""TFT preprocessing for taxi. Empty CSV cells arrive as missing values: filled here."""

from __future__ import annotations

from typing import Dict

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.taxi import features as F
from tfx_keras_estimator.components.recipes.tft_utils import counted_per_batch, to_dense_scalar


def preprocessing_fn(inputs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    outputs = {}
    for key in F.NUMERIC_FEATURE_KEYS:
        value = tf.cast(to_dense_scalar(inputs[key]), tf.float32)
        outputs[transformed_name(key)] = tft.scale_to_z_score(value)
    for key in F.BUCKET_FEATURE_KEYS:
        value = tf.cast(to_dense_scalar(inputs[key]), tf.float32)
        outputs[transformed_name(key)] = tft.bucketize(value, F.BUCKET_COUNT)
    for key in F.VOCAB_FEATURE_KEYS:
        value = to_dense_scalar(inputs[key])
        if value.dtype != tf.string:
            # Missing integer codes become '' (their own vocabulary entry), not 0.
            value = tf.where(tf.equal(value, 0), '', tf.strings.as_string(value))
        outputs[transformed_name(key)] = tft.compute_and_apply_vocabulary(
            value, top_k=F.VOCAB_SIZE, num_oov_buckets=F.OOV_BUCKETS, vocab_filename=key,
            weights=counted_per_batch(value))
    for key, size in F.IDENTITY_FEATURE_SIZES.items():
        value = tf.cast(to_dense_scalar(inputs[key]), tf.int64)
        # Out-of-range codes share id 0 with missing ones.
        outputs[transformed_name(key)] = tf.where((value < 0) | (value >= size), tf.zeros_like(value), value)

    fare = tf.cast(to_dense_scalar(inputs[F.FARE_KEY], default=float('nan')), tf.float32)
    tips = tf.cast(to_dense_scalar(inputs[F.TIPS_KEY]), tf.float32)
    big_tipper = tf.greater(tips, fare * F.BIG_TIP_FRACTION)
    # A trip without a fare is no big tipper (the comparison with NaN is False).
    outputs[F.TRANSFORMED_LABEL_KEY] = tf.cast(big_tipper, tf.int64)
    return outputs
