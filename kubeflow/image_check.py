"""Checks, at image build time, that a component in the image finds what the compiled spec names.

``python -m tfx_keras_estimator.kubeflow.image_check [--recipe RECIPE ...]`` (the Dockerfile's last step;
run it again in an image of your own that adds a recipe): every dotted path TFX will import
(run_fn, each recipe's preprocessing_fn, model builder and weight labels, the baseline
strategy, the anomaly gate) imports, each recipe's schema and data are where a compiled spec
says (``compile.in_image``), and the Vertex AI entrypoint's kfp.pipeline_spec is there. A
broken image fails its build, not a pipeline run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional, Sequence

from tfx_keras_estimator.components.recipes.lookup import load_recipe, recipe_names
from tfx_keras_estimator.pipelines.config import TRAINER_RUN_FN

FIXED_PATHS = (TRAINER_RUN_FN, 'tfx_keras_estimator.components.baseline.LatestBlessedOtherModelStrategy',
               'tfx_keras_estimator.components.anomaly_gate.AnomalyGate')
MODULES = ('kfp.pipeline_spec.pipeline_spec_pb2', 'tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor',
           'tfx.orchestration.kubeflow.container_entrypoint')


def import_dotted(path: str) -> object:
    module, sep, name = path.rpartition(':')
    if not sep:
        module, _, name = path.rpartition('.')
    return getattr(importlib.import_module(module), name)


def problems(recipes: Sequence[str] = (), in_image: bool = True) -> List[str]:
    """What a compiled pipeline would trip over; ``in_image``: also that files sit where compile puts them."""
    from tfx_keras_estimator.kubeflow.compile import in_image as image_path

    found = []
    paths = list(FIXED_PATHS)
    for ref in [*recipe_names(), *recipes]:
        try:
            recipe = load_recipe(ref)
        except ValueError as e:
            found.append(f'recipe {ref}: {e}')
            continue
        paths += list(recipe.dotted_paths().values())
        for what, path in (('schema', recipe.schema_path), ('data', recipe.data_dir)):
            if not path.exists():
                found.append(f'recipe {ref}: no {what} at {path}')
            elif in_image and image_path(path, recipe) != str(path.resolve()):
                found.append(f'recipe {ref}: its {what} is at {path}, but a compiled spec names '
                             f'{image_path(path, recipe)}; install it under the image\'s site folder')
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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m tfx_keras_estimator.kubeflow.image_check',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--recipe', action='append', default=[], metavar='RECIPE',
                        help='also check this recipe (dotted path or folder), as tke compile --recipe names it')
    args = parser.parse_args(argv)
    found = problems(args.recipe)
    for line in found:
        print(f'image_check: {line}', file=sys.stderr)
    if not found:
        print('image_check: every dotted path, schema, data folder and entrypoint imports or exists')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
