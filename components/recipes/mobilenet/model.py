"""Transfer learning as in the Estimator guide: a MobileNetV2 base, pooled, under a dense softmax head.

The base's weights come from a local file named by the ``base_weights`` hparam
(ImageNet weights cannot be downloaded here, and a pipeline should not fetch
code or weights at run time anyway); without one the base starts from random
weights. What trains:

- with a weights file, the base is frozen (``trainable=False``, BatchNormalization
  in inference mode) and only the head learns, as in the guide;
- from random weights a frozen base would only offer random features, so the base
  trains with the head; its BatchNormalization momentum is lowered from Keras's
  0.999 to ``bn_momentum`` (0.9), or the moving averages the exported model uses
  would still be mostly their initial values after a few hundred steps.

``fine_tune`` (True/False) overrides the choice either way.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.mobilenet import features as F

BASE_NAME = 'mobilenet_v2_base'


def base_trains(hparams: Dict[str, Any]) -> bool:
    """Whether the base learns: ``fine_tune`` if set, else only when it starts from random weights."""
    fine_tune = hparams.get('fine_tune')
    return not hparams.get('base_weights') if fine_tune is None else bool(fine_tune)


def build_base(hparams: Dict[str, Any]) -> tf.keras.Model:
    """MobileNetV2 without its top, weights from ``base_weights`` (a local file) or random."""
    alpha = float(hparams.get('alpha', 0.35))
    weights_path: Optional[str] = hparams.get('base_weights')
    base = tf.keras.applications.MobileNetV2(
        input_shape=(F.IMAGE_SIZE, F.IMAGE_SIZE, F.CHANNELS), alpha=alpha, include_top=False, weights=None)
    if weights_path:
        load_base_weights(base, str(weights_path), alpha)
    return tf.keras.Model(base.inputs, base.outputs, name=BASE_NAME)


def load_base_weights(base: tf.keras.Model, path: str, alpha: float) -> None:
    """Loads a weights file into the base; a ValueError names the file when it is missing or does not fit."""
    if not tf.io.gfile.exists(path):
        raise ValueError(
            f'mobilenet: base weights file {path!r} (hparam base_weights) does not exist. Name a local '
            f'MobileNetV2 include_top=False weights file for alpha {alpha:g}, e.g. '
            f'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha:g}_96_no_top.h5, or leave '
            'base_weights unset for random weights.')
    try:
        base.load_weights(path)
    except (ValueError, OSError, tf.errors.OpError) as e:
        raise ValueError(
            f'mobilenet: cannot load base weights from {path!r} into MobileNetV2 alpha {alpha:g} '
            f'without top (is the file for this alpha, include_top=False?): {e}') from e


def build_keras_model(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any]) -> tf.keras.Model:
    """Uncompiled: the trainer compiles it with the recipe's optimizer (Adam)."""
    del tf_transform_output  # The image's size is fixed by the preprocessing_fn.
    size = F.IMAGE_SIZE * F.IMAGE_SIZE * F.CHANNELS
    image = tf.keras.Input(shape=(size,), name=F.TRANSFORMED_IMAGE_KEY, dtype=tf.float32)
    x = tf.keras.layers.Reshape((F.IMAGE_SIZE, F.IMAGE_SIZE, F.CHANNELS), name='image_3d')(image)
    base = build_base(hparams)
    if base_trains(hparams):
        momentum = float(hparams.get('bn_momentum', 0.9))
        for layer in base.layers:
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                layer.momentum = momentum
        x = base(x)
    else:
        # Frozen: no weight updates, and BatchNormalization keeps the file's statistics.
        base.trainable = False
        x = base(x, training=False)
    x = tf.keras.layers.GlobalAveragePooling2D(name='pool')(x)
    output = tf.keras.layers.Dense(F.NUM_CLASSES, activation='softmax', name='prediction')(x)
    return tf.keras.Model(inputs={F.TRANSFORMED_IMAGE_KEY: image}, outputs=output, name='mobilenet_transfer')
