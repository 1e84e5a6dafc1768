"""Pipeline wiring (create_pipeline), configs, the local runner and the ``tke`` CLI."""

from tfx_keras_estimator.components.trainer.stack import use_keras_2 as _use_keras_2

_use_keras_2()
