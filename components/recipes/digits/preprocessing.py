"""TFT preprocessing for digits: pixels scaled to [0, 1] and stacked into one image.

The scale is fixed by the data's 0..16 gray levels, and the serving graph stacks raw
pixels the same way, so clients send raw rows. A pixel a served row lacks gets its
training mean (the only analyzers here; the data itself has every pixel).
"""

from __future__ import annotations

from typing import Dict

import tensorflow as tf

from tfx_keras_estimator.components.recipes.digits import features as F
from tfx_keras_estimator.components.recipes.tft_utils import filled_with_mean, to_dense_scalar


def preprocessing_fn(inputs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    pixels = [filled_with_mean(inputs[key]) / F.PIXEL_MAX for key in F.PIXEL_KEYS]
    return {
        # [batch, 64] in row-major order, as the model's Reshape((8, 8, 1)) expects.
        F.TRANSFORMED_IMAGE_KEY: tf.stack(pixels, axis=1),
        F.TRANSFORMED_LABEL_KEY: tf.cast(to_dense_scalar(inputs[F.LABEL_KEY]), tf.int64),
    }
