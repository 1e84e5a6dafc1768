"""The TFX and TFMA internals the fast executors touch, in one place, and the versions of TFX
and the libraries under it they were checked against (and whether the installed ones are those).

The internals: ``swapped`` (a module-level name of a TFX executor's module pointed at ours for
one call, where TFX has no hook), and TFMA's private functions the fast Evaluator computes as
TFMA does (``is_metric_diffable``, ``remove_private_metrics``, ``serialize_eval_run``), and
tfx_bsl's per-cell type rule ExampleGen types the rare cells with (``infer_cell_type``). The
executors subclass TFX's own (their documented extension point) and call these for the rest.

The fast executors reach past TFX's public API where it has no hook (see docs/architecture.md:
module-level names swapped for a call, TFMA's writers, tfx_bsl's per-cell type rule). Those
internals can change in any release, so each fast executor runs its fast path only on the
versions below, where the tests compare it with TFX's executors; on any other it runs TFX's
own executor and logs why. (ExampleGen has no TFX executor with a schema's types and missing
tokens: it keeps its own rules, which its tests check on every stack they run on.)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import threading
from types import ModuleType
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence

# Distribution -> the version the fast paths were checked against (requirements.lock).
CHECKED: Mapping[str, str] = {
    'tfx': '1.15.1',
    'tensorflow-model-analysis': '0.46.0',
    'tfx-bsl': '1.15.1',
    'tensorflow-transform': '1.15.0',
    'tensorflow-data-validation': '1.15.1',
}
# The modern stack's (requirements-modern-1.16.lock), where the StatisticsGen and Transform fast
# paths were compared with TFX's executors too. Not the Evaluator's: it reads the EvalSavedModel,
# which TFMA 0.47 no longer has (it asks for CHECKED alone).
CHECKED_MODERN: Mapping[str, str] = {
    'tfx': '1.16.0',
    'tensorflow-model-analysis': '0.47.1',
    'tfx-bsl': '1.16.1',
    'tensorflow-transform': '1.16.0',
    'tensorflow-data-validation': '1.16.1',
}


def mismatch(installed: Optional[Mapping[str, str]] = None,
             checked: Sequence[Mapping[str, str]] = (CHECKED, CHECKED_MODERN)) -> Optional[str]:
    """Why the fast paths must not run here (the versions that differ from every checked set), or None.

    ``installed``: distribution -> version; default: what is installed in this environment.
    The message names what differs from the set of the installed TFX (else from the first)."""
    if installed is None:
        installed = _installed()
    named = None
    for versions in checked:
        differ = [f'{name} {installed.get(name, "(not installed)")} (checked: {version})'
                  for name, version in versions.items() if installed.get(name) != version]
        if not differ:
            return None
        if named is None or versions['tfx'] == installed.get('tfx'):
            named = differ
    return f'versions the fast path was not checked against: {", ".join(named or [])}'


@functools.lru_cache(maxsize=1)
def _installed() -> Dict[str, str]:
    installed = {}
    for name in CHECKED:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return installed


_SWAP_LOCK = threading.Lock()


@contextlib.contextmanager
def swapped(module: ModuleType, name: str, value: Any) -> Iterator[None]:
    """``module.name`` is ``value`` inside the block (one block at a time), and what it was after.

    For TFX executors that name what they read with from their module, inline, without a
    hook: ours differ only in how tf.Examples are read, so a plain component running at
    the same time in this process would read through them too and compute the same.
    """
    with _SWAP_LOCK:
        original = getattr(module, name)
        setattr(module, name, value)
        try:
            yield
        finally:
            setattr(module, name, original)


def is_metric_diffable(value: Any) -> bool:
    """TFMA's rule for which metric values get a diff against the baseline."""
    from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator

    return metrics_plots_and_validations_evaluator._is_metric_diffable(value)


def remove_private_metrics(slice_key: Any, metrics: Dict[Any, Any]) -> Any:
    """One slice's metrics without TFMA's private ones, as TFMA drops them before writing."""
    from tensorflow_model_analysis.evaluators import metrics_plots_and_validations_evaluator

    return metrics_plots_and_validations_evaluator._remove_private_metrics(slice_key, metrics)


def serialize_eval_run(eval_config: Any, data_location: str, file_format: str, model_locations: Dict[str, str]) -> str:
    """The eval_config.json text TFMA's EvalConfigWriter writes."""
    from tensorflow_model_analysis.writers import eval_config_writer

    return eval_config_writer._serialize_eval_run(eval_config, data_location, file_format, model_locations)


def infer_cell_type(cell: bytes) -> Any:
    """tfx_bsl's own per-cell type rule (int()/float() on the cell's bytes, int64 range): the rare
    cells outside the fast reader's plain forms are typed by it, so they are typed as CsvExampleGen
    types them. A ``ColumnType``."""
    from tfx_bsl.coders.csv_decoder import _InferValueType

    return _InferValueType(cell)
