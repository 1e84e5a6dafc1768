"""Labelled weights of a linear model: every weight next to what it weighs.

The cookbook's "There's more": a linear model is readable when each weight has a
label (a numeric feature, a vocabulary value, a bucket, a crossed bucket). A
BatchNormalization in front of the output unit is folded in, so each weight is
the change of the prediction per unit of the transformed feature.
"""

from __future__ import annotations

import json
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

WEIGHTS_FILE = 'labelled_weights.json'
KERAS_BN_EPSILON = 1e-3  # tf.keras.layers.BatchNormalization's default


def linear_weights(read: Callable[[str], np.ndarray], labels: Sequence[str], output_layer: str = 'prediction',
                   batch_norm_layer: Optional[str] = None, epsilon: float = KERAS_BN_EPSILON) -> Dict:
    """``{'bias': b, 'weights': [{'label', 'weight'}...]}``, largest magnitude first.

    ``read(name)`` returns a variable's value (e.g. ``Estimator.get_variable_value``).
    """
    kernel = np.asarray(read(f'{output_layer}/kernel'), dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[1] != 1:
        raise ValueError(f'{output_layer} is not a single linear unit: kernel shape {kernel.shape}')
    kernel = kernel[:, 0]
    bias = float(np.asarray(read(f'{output_layer}/bias'))[0])
    if batch_norm_layer:
        gamma, beta, mean, variance = (np.asarray(read(f'{batch_norm_layer}/{n}'), dtype=np.float64)
                                       for n in ('gamma', 'beta', 'moving_mean', 'moving_variance'))
        scale = gamma / np.sqrt(variance + epsilon)
        # w . (scale * (x - mean) + beta) + b  ==  (w * scale) . x + (b + w . (beta - scale * mean))
        bias += float(np.dot(kernel, beta - scale * mean))
        kernel = kernel * scale
    if len(labels) != len(kernel):
        raise ValueError(f'{len(labels)} labels for {len(kernel)} weights of {output_layer}')
    order = np.argsort(-np.abs(kernel), kind='stable')
    return {'bias': bias, 'weights': [{'label': labels[i], 'weight': float(kernel[i])} for i in order]}


def write_weights(weights: Dict, path: str) -> None:
    from tfx import v1 as tfx

    with tfx.dsl.io.fileio.open(path, 'w') as f:
        f.write(json.dumps(weights, indent=1))


def top_weights(path: str, n: int) -> List[Dict]:
    with open(path) as f:
        return json.load(f)['weights'][:n]
