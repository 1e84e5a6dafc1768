"""Checks, at image build time, that a component in the image finds what the compiled spec names.

``python -m kubeflow_runners.image_check`` (the Dockerfile's last step): every dotted path
TFX will import (run_fn, each recipe's preprocessing_fn and model builder, the baseline
strategy, the anomaly gate) imports, each recipe's schema is where the compiled spec says,
and the Vertex AI entrypoint's kfp.pipeline_spec is there. A broken image fails its build,
not a pipeline run.
"""

from __future__ import annotations

import importlib
import sys
from typing import List

from components.recipes.registry import get_recipe, recipe_names
from pipelines.config import TRAINER_RUN_FN

FIXED_PATHS = (TRAINER_RUN_FN, 'components.baseline.LatestBlessedOtherModelStrategy',
               'components.anomaly_gate.AnomalyGate')
MODULES = ('kfp.pipeline_spec.pipeline_spec_pb2', 'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor',
           'tfx.orchestration.kubeflow.container_entrypoint')


def import_dotted(path: str) -> object:
    module, _, name = path.rpartition('.')
    return getattr(importlib.import_module(module), name)


def problems() -> List[str]:
    found = []
    paths = list(FIXED_PATHS)
    for name in recipe_names():
        recipe = get_recipe(name)
        paths += [recipe.preprocessing_fn, recipe.model_builder]
        if not recipe.schema_path.is_file():
            found.append(f'recipe {name}: no schema at {recipe.schema_path}')
    for path in paths:
        try:
            import_dotted(path)
        except (ImportError, AttributeError) as e:
            found.append(f'{path}: {type(e).__name__}: {e}')
    for module in MODULES:
        try:
            importlib.import_module(module)
        except ImportError as e:
            found.append(f'{module}: {e}')
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f'image_check: {line}', file=sys.stderr)
    if not found:
        print('image_check: every dotted path, schema and entrypoint imports or exists')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
