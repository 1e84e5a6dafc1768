"""Dotted paths of this package's old top-level names (``components.``, ``pipelines.``,
``kubeflow_runners.``) still resolve, to ``tfx_keras_estimator.*``, with one warning naming the
new path. Only where the old name does not import as given: a project's own ``components``
package keeps its own paths. Old names stop resolving in version 0.3.0 (README: "Upgrading").
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Dict, Set

OLD_PREFIXES: Dict[str, str] = {
    'components.': 'tfx_keras_estimator.components.',
    'pipelines.': 'tfx_keras_estimator.pipelines.',
    'kubeflow_runners.': 'tfx_keras_estimator.kubeflow.',
}
REMOVED_IN = '0.3.0'
_warned: Set[str] = set()


def _module_of(dotted: str) -> str:
    module, sep, _ = dotted.rpartition(':')
    return module if sep else dotted.rpartition('.')[0]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or a module without a spec
        return False


def current_name(dotted: str) -> str:
    """``dotted`` itself, or its ``tfx_keras_estimator.*`` name where it uses an old top-level name
    of this package that does not import here (warned once per path)."""
    for old, new in OLD_PREFIXES.items():
        if dotted.startswith(old):
            renamed = new + dotted[len(old):]
            if _importable(_module_of(dotted)) or not _importable(_module_of(renamed)):
                return dotted
            if dotted not in _warned:
                _warned.add(dotted)
                warnings.warn(f'{dotted!r} is an old name of this package; use {renamed!r} (old names stop '
                              f'resolving in tfx-keras-estimator {REMOVED_IN})', FutureWarning, stacklevel=2)
            return renamed
    return dotted
