"""The Keras/Estimator blog post's MNIST CNN, sized for 8x8 digits.

Two 3x3 convolutions (padded, so the 8x8 image survives them), one 2x2 max pool,
then a dense layer; dropout after each stage, as in the post, against overfitting
the ~1,200 training images.
"""

from __future__ import annotations

from typing import Any, Dict

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.digits import features as F


def build_keras_model(tf_transform_output: tft.TFTransformOutput, hparams: Dict[str, Any]) -> tf.keras.Model:
    """Uncompiled: the trainer compiles it with the recipe's optimizer (Adadelta, lr 1.0)."""
    size = F.IMAGE_SIZE
    image = tf.keras.Input(shape=(size * size,), name=F.TRANSFORMED_IMAGE_KEY, dtype=tf.float32)
    x = tf.keras.layers.Reshape((size, size, 1), name='image_2d')(image)
    x = tf.keras.layers.Conv2D(32, (3, 3), activation='relu', padding='same', name='conv_1')(x)
    x = tf.keras.layers.Conv2D(64, (3, 3), activation='relu', padding='same', name='conv_2')(x)
    x = tf.keras.layers.MaxPooling2D((2, 2), name='pool')(x)
    x = tf.keras.layers.Dropout(0.25, name='dropout_conv')(x)
    x = tf.keras.layers.Flatten(name='flatten')(x)
    x = tf.keras.layers.Dense(128, activation='relu', name='dense')(x)
    x = tf.keras.layers.Dropout(0.5, name='dropout_dense')(x)
    output = tf.keras.layers.Dense(F.NUM_CLASSES, activation='softmax', name='prediction')(x)
    return tf.keras.Model(inputs={F.TRANSFORMED_IMAGE_KEY: image}, outputs=output, name='digits_cnn')
