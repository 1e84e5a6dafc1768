"""The Transform module of the example pipeline: your code, not this package's.

Every measurement z-scored; the cultivar name mapped to its index in CLASSES, so that
class i means the same in every run and in the serving signature.
"""

import tensorflow as tf
import tensorflow_transform as tft

LABEL = 'cultivar'
CLASSES = ('barbera', 'barolo', 'grignolino')
FEATURES = ('alcohol', 'malic_acid', 'ash', 'alcalinity_of_ash', 'magnesium', 'total_phenols', 'flavanoids',
            'nonflavanoid_phenols', 'proanthocyanins', 'color_intensity', 'hue', 'od280_od315', 'proline')


def preprocessing_fn(inputs):
    # SchemaGen gives every column a shape of [1]: [batch, 1] tensors, made [batch] here.
    outputs = {f'{key}_xf': tft.scale_to_z_score(tf.cast(tf.squeeze(inputs[key], axis=1), tf.float32))
               for key in FEATURES}
    label = tf.squeeze(inputs[LABEL], axis=1)
    matches = tf.cast(tf.equal(label[:, None], tf.constant(CLASSES)[None, :]), tf.int64)
    outputs[f'{LABEL}_xf'] = tf.argmax(matches, axis=1)
    return outputs
