"""The versions of TFX and the libraries under it whose internals the fast executors were
checked against, and whether the installed ones are those.

The fast executors reach past TFX's public API where it has no hook (see docs/architecture.md:
module-level names swapped for a call, TFMA's writers, tfx_bsl's per-cell type rule). Those
internals can change in any release, so each fast executor runs its fast path only on the
versions below, where the tests compare it with TFX's executors; on any other it runs TFX's
own executor and logs why. (ExampleGen has no TFX executor with a schema's types and missing
tokens: it keeps its own rules, which its tests check on every stack they run on.)
"""

from __future__ import annotations

import functools
import importlib.metadata
from typing import Mapping, Optional

# Distribution -> the version the fast paths were checked against (requirements.lock).
CHECKED: Mapping[str, str] = {
    'tfx': '1.15.1',
    'tensorflow-model-analysis': '0.46.0',
    'tfx-bsl': '1.15.1',
    'tensorflow-transform': '1.15.0',
    'tensorflow-data-validation': '1.15.1',
}


def mismatch(installed: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Why the fast paths must not run here (the versions that differ), or None.

    ``installed``: distribution -> version; default: what is installed in this environment."""
    if installed is None:
        return _installed_mismatch()
    differ = [f'{name} {installed.get(name, "(not installed)")} (checked: {version})'
              for name, version in CHECKED.items() if installed.get(name) != version]
    return f'versions the fast path was not checked against: {", ".join(differ)}' if differ else None


@functools.lru_cache(maxsize=1)
def _installed_mismatch() -> Optional[str]:
    installed = {}
    for name in CHECKED:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return mismatch(installed)
