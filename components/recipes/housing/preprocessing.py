"""TFT preprocessing for housing: z-scores, vocabularies and a hashed cross.

These are the TFT equivalents of the seed's feature columns (numeric_column with
normalizer, categorical_column_with_vocabulary_list, crossed_column): computed once
over the training data and embedded in the serving graph, so clients send raw rows.
"""

from __future__ import annotations

from typing import Dict

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.housing import features as F
from tfx_keras_estimator.components.recipes.tft_utils import (
    counted_per_batch,
    filled_with_mean,
    to_dense_scalar,
    values_and_presence,
)


def preprocessing_fn(inputs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    outputs = {}
    # A served row may lack a feature (the data never does): a number gets the training mean,
    # a category the OOV bucket.
    keys = dict.fromkeys(F.NUMERIC_FEATURE_KEYS + F.CROSS_FEATURE_KEYS)  # in order, once each
    filled = {key: filled_with_mean(inputs[key]) for key in keys}
    for key in F.NUMERIC_FEATURE_KEYS:
        value = filled[key]
        if key in F.LOG_FEATURE_KEYS:
            value = tf.math.log1p(tf.maximum(value, 0.0))
        outputs[transformed_name(key)] = tft.scale_to_z_score(value)
    for key in F.CATEGORICAL_FEATURE_KEYS:
        code, present = values_and_presence(inputs[key])
        as_text = tf.where(present, tf.strings.as_string(code), '')
        outputs[transformed_name(key)] = tft.compute_and_apply_vocabulary(
            as_text, num_oov_buckets=F.VOCAB_OOV_BUCKETS, vocab_filename=key, weights=counted_per_batch(as_text))
    bucket_ids = [tft.bucketize(filled[key], F.CROSS_BUCKETS_PER_FEATURE) for key in F.CROSS_FEATURE_KEYS]
    for key, ids in zip(F.CROSS_FEATURE_KEYS, bucket_ids, strict=True):
        outputs[transformed_name(f'{key}_bucket')] = ids
    crossed = tf.strings.join([tf.strings.as_string(b) for b in bucket_ids], separator='_x_')
    outputs[F.TRANSFORMED_CROSS_KEY] = tf.strings.to_hash_bucket_fast(crossed, F.CROSS_HASH_BUCKETS)
    outputs[F.TRANSFORMED_LABEL_KEY] = tf.cast(to_dense_scalar(inputs[F.LABEL_KEY]), tf.float32)
    return outputs
