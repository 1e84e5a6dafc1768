"""FastStatisticsGen: TFX's StatisticsGen component with tf.Examples read and decoded ten times faster.

The same component (``tfx.components.StatisticsGen``: inputs, parameters, outputs, TFDV's
statistics on Beam) with ``executor.Executor`` in place of TFX's; the examples reach TFDV
through ``tfx_keras_estimator.components.fast_tfxio`` (the same Arrow RecordBatches, read in blocks and decoded
without tfx_bsl's per-example protobuf parse). Use it where StatisticsGen is used, with the
same arguments::

    statistics_gen = FastStatisticsGen(examples=example_gen.outputs['examples'])
"""

from __future__ import annotations

from tfx import v1 as tfx

# No tfx.v1 export of executor specs: this is how a component names its executor class.
from tfx.dsl.components.base import executor_spec

from tfx_keras_estimator.components.fast_statistics_gen.executor import Executor

__all__ = ['Executor', 'FastStatisticsGen']


class FastStatisticsGen(tfx.components.StatisticsGen):
    """StatisticsGen (same arguments and outputs) whose executor reads tf.Examples faster."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
