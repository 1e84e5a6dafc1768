"""FastEvaluator: TFX's Evaluator component with an executor that evaluates EvalSavedModels in one pass.

The same component (``tfx.components.Evaluator``: inputs, parameters, outputs) with
``executor.Executor`` in place of TFX's: for an EvalSavedModel (what our Trainer
exports for TFMA) it computes the model's own metrics per slice in one pass over the
examples, in one process, and writes them, the validation and the blessing as TFX's
executor does; anything it does not cover goes to TFX's executor (see ``executor``).
Use it where Evaluator is used, with the same arguments::

    evaluator = FastEvaluator(examples=..., model=..., baseline_model=..., eval_config=...)
"""

from __future__ import annotations

from tfx import v1 as tfx

# No tfx.v1 export of executor specs: this is how a component names its executor class.
from tfx.dsl.components.base import executor_spec

from tfx_keras_estimator.components.fast_evaluator.executor import Executor

__all__ = ['Executor', 'FastEvaluator']


class FastEvaluator(tfx.components.Evaluator):
    """Evaluator (same arguments and outputs) run by the fast executor, TFX's where it must."""

    # A Beam executor spec: the pipeline's beam_pipeline_args reach it as they reach the
    # Evaluator, and TFX's executor (the fallback) runs on them.
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
