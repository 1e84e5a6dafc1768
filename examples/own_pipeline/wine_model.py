"""The model builder of the example pipeline: build(tf_transform_output, hparams) -> tf.keras.Model.

Inputs are named after the Transform outputs (model_to_estimator matches by name), scalars
as shape (); the output layer's name is the task spec's prediction_key.
"""

import tensorflow as tf
from wine_preprocessing import CLASSES, FEATURES


def build(tf_transform_output, hparams):
    inputs = {f'{k}_xf': tf.keras.Input(shape=(), name=f'{k}_xf') for k in FEATURES}
    x = tf.keras.layers.Concatenate()([tf.keras.layers.Reshape((1,))(i) for i in inputs.values()])
    x = tf.keras.layers.Dense(int(hparams.get('units', 16)), activation='relu')(x)
    output = tf.keras.layers.Dense(len(CLASSES), activation='softmax', name='prediction')(x)
    return tf.keras.Model(inputs, output)
