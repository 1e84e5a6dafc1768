"""The generic preprocessing_fn: what a column becomes follows its role (roles.Roles).

Numbers: missing cells (absent, or a missing token in a numbers-as-text column) are filled
with the training mean and flagged by a 0/1 ``<name>_missing_xf`` input; skewed positive
columns go through log1p; then z-scored; optionally also quantile buckets for the wide
part. Categoricals: a vocabulary of the training values, unpadded, with OOV buckets (missing
is a value of its own). Crosses (none unless the recipe names some): the members' values
(a number by its quantile bucket among the present values) joined into one string,
through a vocabulary the same way.
The label follows the task spec: a float for regression, the class's index in
``class_labels`` for classification. Everything is in the transform graph, so
the served model takes the raw row as the CSV has it.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.generic.roles import (
    BUCKET_SUFFIX,
    MISSING_SUFFIX,
    TASK_KEY,
    Roles,
    cross_name,
    transformed,
)
from tfx_keras_estimator.components.recipes.tft_utils import counted_per_batch, values_and_presence
from tfx_keras_estimator.components.trainer.task import REGRESSION, TaskSpec

MISSING_CATEGORY = '__missing__'
# Joins a cross's members: a control character no CSV cell is likely to hold, and no newline
# (the vocabulary file has a value per line).
_CROSS_JOIN = '\x1f'


def _number(x, as_text: bool, tokens: Tuple[str, ...]) -> Tuple[tf.Tensor, tf.Tensor]:
    values, present = values_and_presence(x)
    if as_text:
        text = tf.strings.strip(values)
        missing = tf.reduce_any(tf.equal(text[:, None], tf.constant(('',) + tuple(tokens))[None, :]), axis=1)
        present = present & ~missing
        # Safe to parse once the missing tokens are out; anything else fails loudly in Transform.
        values = tf.strings.to_number(tf.where(present, text, '0'), out_type=tf.float64)
    # float64 until z-scored: columns of large numbers with a small spread keep it. Census
    # tracts (~1.7e10, log-scaled as skewed: ~23.56, where a float32 step is 1.9e-6) differ
    # by a few float32 steps, so in float32 their z-scores came in steps of ~0.16 standard
    # deviations, and a row's step changed from one run to the next.
    return tf.cast(values, tf.float64), present


def _category(x) -> tf.Tensor:
    values, present = values_and_presence(x)
    # Unpadded: 'male ' (as an R export pads a factor level) and 'male' are one category, in
    # training and from a client alike; a blank cell is missing.
    text = tf.strings.strip(values) if values.dtype == tf.string else tf.strings.as_string(values)
    return tf.where(present & tf.not_equal(text, ''), text, MISSING_CATEGORY)


def label_output(x, task: TaskSpec) -> tf.Tensor:
    """The transformed label: a float, or the index of the class in task.class_labels."""
    if task.task == REGRESSION:
        values, _ = values_and_presence(x)
        return tf.cast(values, tf.float32)
    if not task.class_labels:
        raise ValueError('the generic preprocessing_fn needs the class_labels of a classification task')
    text = _category(x)
    matches = tf.equal(text[:, None], tf.constant(task.class_labels)[None, :])
    # A class outside class_labels becomes class 0; the schema's label domain flags it first.
    return tf.argmax(tf.cast(matches, tf.int64), axis=1)


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, tf.Tensor]:
    roles = Roles.from_config(custom_config)
    if TASK_KEY not in (custom_config or {}):
        raise ValueError(f'the generic preprocessing_fn needs the task spec in custom_config[{TASK_KEY!r}] '
                         '(create_pipeline puts it there)')
    task = TaskSpec(**custom_config[TASK_KEY])
    outputs = {}
    # Each column as a string, for the crosses: a category, or a number's bucket.
    as_text: Dict[str, tf.Tensor] = {}
    crossed = {key for cross in roles.crosses for key in cross}
    for key in roles.numeric:
        value, present = _number(inputs[key], key in roles.numbers_as_text, roles.missing_tokens)
        if key in roles.log:
            value = tf.math.log1p(tf.maximum(value, 0.0))
        mean = tft.mean(tf.boolean_mask(value, present))
        filled = tf.where(present, value, mean)
        outputs[transformed(key)] = tf.cast(tft.scale_to_z_score(filled), tf.float32)
        if key in roles.optional:
            outputs[transformed(key + MISSING_SUFFIX)] = 1.0 - tf.cast(present, tf.float32)
        if roles.buckets:
            # In float32, as TFT's quantile boundaries are: a value tied with boundaries (the
            # mean, where many cells are missing) then compares equal to them.
            outputs[transformed(key + BUCKET_SUFFIX)] = tft.bucketize(tf.cast(filled, tf.float32), roles.buckets)
        if key in crossed:
            # Buckets of the present values, not of the filled ones: those depend on the mean,
            # and a vocabulary over them would be a third analysis phase, which Beam's
            # DirectRunner fails to schedule ("watermark-pending bundles did not execute").
            value32 = tf.cast(value, tf.float32)
            boundaries = tft.quantiles(tf.boolean_mask(value32, present), roles.buckets,
                                       epsilon=min(1.0 / roles.buckets, 0.01))
            bucket = tft.apply_buckets(value32, boundaries)
            as_text[key] = tf.where(present, tf.strings.as_string(bucket), MISSING_CATEGORY)
    for key in roles.categorical:
        as_text[key] = _category(inputs[key])
        outputs[transformed(key)] = tft.compute_and_apply_vocabulary(
            as_text[key], top_k=roles.vocab_size, num_oov_buckets=roles.oov_buckets, vocab_filename=key,
            weights=counted_per_batch(as_text[key]))
    for cross in roles.crosses:
        name = cross_name(cross)
        joined = tf.strings.join([as_text[key] for key in cross], separator=_CROSS_JOIN)
        outputs[transformed(name)] = tft.compute_and_apply_vocabulary(
            joined, top_k=roles.vocab_size, num_oov_buckets=roles.oov_buckets, vocab_filename=name,
            weights=counted_per_batch(joined))
    outputs[task.transformed_label_key] = label_output(inputs[task.label_key], task)
    return outputs
