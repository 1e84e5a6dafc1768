"""Model builder of the wine recipe folder: one hidden layer over the z-scored measurements."""

import tensorflow as tf

from .preprocessing import CLASSES, FEATURES


def build(tf_transform_output, hparams):
    inputs = {f'{k}_xf': tf.keras.Input(shape=(), name=f'{k}_xf') for k in FEATURES}
    x = tf.keras.layers.Concatenate()([tf.keras.layers.Reshape((1,))(i) for i in inputs.values()])
    x = tf.keras.layers.Dense(int(hparams.get('units', 16)), activation='relu')(x)
    output = tf.keras.layers.Dense(len(CLASSES), activation='softmax', name='prediction')(x)
    return tf.keras.Model(inputs, output)
