"""Finding a recipe: a built-in name, a dotted path to a ``Recipe`` object, or a recipe folder.

Apart from ``registry`` (what a recipe is), which the built-in recipes and ``folder`` import:
this module imports them, and nothing imports back.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path
from typing import Tuple

from tfx_keras_estimator.components.recipes.folder import load_recipe_folder
from tfx_keras_estimator.components.recipes.registry import Recipe, RecipeNotFound

BUILT_IN = ('housing', 'taxi', 'digits', 'mobilenet', 'text')
DEFAULT_RECIPE = 'housing'


def _built_in(name: str) -> Recipe:
    module = importlib.import_module(f'tfx_keras_estimator.components.recipes.{name}.features')
    return module.RECIPE


def recipe_names() -> Tuple[str, ...]:
    return BUILT_IN


def get_recipe(name: str) -> Recipe:
    """A built-in recipe by name (``load_recipe`` also takes dotted paths and folders)."""
    if name not in BUILT_IN:
        raise RecipeNotFound(f'unknown recipe {name!r}; built-in recipes: {", ".join(BUILT_IN)}. {HOW_TO_NAME}')
    return _built_in(name)


HOW_TO_NAME = ('Name another recipe by a dotted path to a Recipe object (my_pkg.recipes:CHURN or '
               'my_pkg.recipes.CHURN) or by its folder (./my_recipe, holding recipe.toml and schema.pbtxt).')


def _looks_like_path(ref: str) -> bool:
    return os.sep in ref or ref.startswith('.') or ref.startswith('~') or Path(ref).is_dir()


def load_recipe(ref: str | Recipe) -> Recipe:
    """A built-in name, a dotted path to a ``Recipe`` object, or a recipe folder -> the Recipe."""
    if isinstance(ref, Recipe):
        return ref
    if ref in BUILT_IN:
        return _built_in(ref)
    if _looks_like_path(ref):
        return load_recipe_folder(Path(ref).expanduser())
    if '.' in ref or ':' in ref:
        return _recipe_object(ref)
    raise RecipeNotFound(f'unknown recipe {ref!r}: not a built-in recipe ({", ".join(BUILT_IN)}), nor a folder in '
                         f'{os.getcwd()}. {HOW_TO_NAME}')


def _recipe_object(ref: str) -> Recipe:
    module_name, sep, attr = ref.partition(':')
    if not sep:
        module_name, _, attr = ref.rpartition('.')
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise RecipeNotFound(
            f'recipe {ref!r}: cannot import module {module_name!r} ({e}); looked in the current folder '
            f'{os.getcwd()} and the installed packages. Install the package that holds it, or run from the '
            f'folder that holds {module_name.split(".")[0]!r}. {HOW_TO_NAME}') from e
    if not hasattr(module, attr):
        raise RecipeNotFound(f'recipe {ref!r}: module {module_name!r} ({module.__file__}) has no attribute {attr!r}')
    recipe = getattr(module, attr)
    if not isinstance(recipe, Recipe):
        raise RecipeNotFound(f'recipe {ref!r}: {module_name}.{attr} is a {type(recipe).__name__}, not a '
                             'tfx_keras_estimator.components.recipes.Recipe')
    if recipe.root is None and getattr(module, '__file__', None):
        # Paths resolve against the recipe itself: the folder of the module defining it.
        recipe = dataclasses.replace(recipe, root=Path(module.__file__).resolve().parent)
    return recipe
