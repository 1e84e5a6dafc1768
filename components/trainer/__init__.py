"""The generic Trainer: ``run_fn`` (TFX entry point) and the functions it composes.

``tfx_keras_estimator.components.trainer.run_fn`` is resolved lazily, so importing the light
modules of this package (e.g. ``config``) does not import TensorFlow.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == 'run_fn':
        from tfx_keras_estimator.components.trainer.adapter import run_fn

        return run_fn
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
