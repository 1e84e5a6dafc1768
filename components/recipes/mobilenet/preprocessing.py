"""TFT preprocessing for mobilenet: encoded images decoded, resized and scaled inside the graph.

A pure TF mapping (no analyzers), so the transform graph in the serving model
does exactly this to whatever a client sends: PNG (or JPEG, GIF, BMP) bytes of any
size, gray or colour, become the 32x32x3 floats in [-1, 1] that MobileNetV2 expects.
"""

from __future__ import annotations

from typing import Dict

import tensorflow as tf

from tfx_keras_estimator.components.recipes.mobilenet import features as F
from tfx_keras_estimator.components.recipes.tft_utils import to_dense_scalar


def decode_image(encoded: tf.Tensor) -> tf.Tensor:
    """One encoded image -> ``[IMAGE_SIZE, IMAGE_SIZE, CHANNELS]`` float32 in [-1, 1].

    Gray images are repeated over the three channels and alpha is dropped
    (``channels=3``); bilinear resizing leaves an image of the target size unchanged.
    """
    image = tf.io.decode_image(encoded, channels=F.CHANNELS, dtype=tf.uint8, expand_animations=False)
    image = tf.image.resize(tf.cast(image, tf.float32), [F.IMAGE_SIZE, F.IMAGE_SIZE], method='bilinear')
    # tf.keras.applications.mobilenet_v2.preprocess_input: [0, 255] -> [-1, 1].
    return image / 127.5 - 1.0


def decode_or_blank(encoded: tf.Tensor) -> tf.Tensor:
    """``decode_image``, or a mid-gray image (0 everywhere) for a served row without an image."""
    return tf.cond(tf.equal(tf.strings.length(encoded), 0),
                   lambda: tf.zeros([F.IMAGE_SIZE, F.IMAGE_SIZE, F.CHANNELS], tf.float32),
                   lambda: decode_image(encoded))


def preprocessing_fn(inputs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    encoded = to_dense_scalar(inputs[F.IMAGE_KEY])
    images = tf.map_fn(decode_or_blank, encoded, fn_output_signature=tf.float32)
    size = F.IMAGE_SIZE * F.IMAGE_SIZE * F.CHANNELS
    return {
        # [batch, 32 * 32 * 3], row-major (row, column, channel): the model's Reshape undoes it.
        # Flat like the digits recipe: one fixed-length float feature per example.
        F.TRANSFORMED_IMAGE_KEY: tf.reshape(images, [-1, size]),
        F.TRANSFORMED_LABEL_KEY: tf.cast(to_dense_scalar(inputs[F.LABEL_KEY]), tf.int64),
    }
