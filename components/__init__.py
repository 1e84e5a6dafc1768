"""TFX components of tfx-keras-estimator: the generic Trainer and the recipes."""

from tfx_keras_estimator.components.trainer.stack import use_keras_2 as _use_keras_2

_use_keras_2()
