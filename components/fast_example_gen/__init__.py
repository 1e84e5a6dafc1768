"""FastCsvExampleGen: CsvExampleGen's component with an executor ten times faster.

The same component (``tfx.components.CsvExampleGen``: inputs, parameters, the file-based
driver that resolves spans and records span, version and input fingerprint) with
``executor.Executor`` in place of TFX's Beam executor; it writes the same examples in the
same splits (see ``executor`` for how and why without Beam). Use it where
CsvExampleGen is used, with the same arguments (and optionally ``custom_config``: the
schema's column types and missing tokens, see ``options``)::

    example_gen = FastCsvExampleGen(input_base=..., input_config=..., output_config=...)
"""

from __future__ import annotations

from typing import Any, Optional

from tfx import v1 as tfx

# No tfx.v1 export of executor specs: this is how a component names its executor class.
from tfx.dsl.components.base import executor_spec

from tfx_keras_estimator.components.fast_example_gen.executor import Executor

__all__ = ['Executor', 'FastCsvExampleGen']


class FastCsvExampleGen(tfx.components.CsvExampleGen):
    """CsvExampleGen (same arguments, driver and outputs) run by the fast executor."""

    # A Beam executor spec although no Beam runs: the pipeline's beam_pipeline_args still reach
    # it (and are ignored) as they reach CsvExampleGen, so compiled pipelines look the same.
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, input_base: Optional[str] = None, input_config: Any = None, output_config: Any = None,
                 range_config: Any = None, custom_config: Any = None) -> None:
        """CsvExampleGen's arguments, and ``custom_config``: ``options.CsvOptions(...).to_custom_config()``
        (the schema's column types, missing tokens), which CsvExampleGen does not take."""
        # FileBasedExampleGen's constructor, which CsvExampleGen's wraps without custom_config.
        super(tfx.components.CsvExampleGen, self).__init__(
            input_base=input_base, input_config=input_config, output_config=output_config,
            range_config=range_config, custom_config=custom_config)
