"""Recipe folders: a small declarative ``recipe.toml`` plus ``schema.pbtxt``, optional code beside them.

The format ``tke init`` writes and a user can write by hand::

    my_recipe/
      recipe.toml        what the Recipe dataclass holds (below)
      schema.pbtxt       the raw data's schema (TFMD text proto)
      data/              the data (optional: tke run --data DIR)
      preprocessing.py   optional: preprocessing_fn(inputs) -> outputs
      model.py           optional: build(tf_transform_output, hparams) -> tf.keras.Model

``recipe.toml``::

    name = "churn"                       # default: the folder's name
    description = "churn: will the customer leave"
    task = "binary_classification"       # regression | binary_classification | multiclass_classification
    label_key = "churned"
    transformed_label_key = "churned_xf" # default: <label_key>_xf
    preprocessing_fn = "preprocessing.preprocessing_fn"  # a module of this folder, or any dotted path
    model_builder = "model.build"
    class_labels = ["no", "yes"]
    missing_tokens = ["NA"]             # number cells that mean "missing" (blank ones always do)
    train_steps = 500
    eval_steps = 20
    [gate]
    metric = "auc"
    higher_is_better = true
    bound = 0.7
    change_tolerance = 0.01
    [hparams]
    learning_rate = 0.003
    [[candidates]]                       # optional: models to choose from, each hparams over [hparams]
    [[candidates]]                       # (an empty one: [hparams] as they are)
    hidden_units = []
    [transform]                          # optional: custom_config of preprocessing_fn(inputs, custom_config)

Dotted paths whose first part is a ``.py`` file (or package) of the folder name that code;
they become ``<folder name>.<module>...`` with the folder's parent importable, as ``python -m``
makes the current folder importable. Every other path is taken as it is (an installed package).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Dict

from tfx_keras_estimator.components.recipes.registry import DATA_FORMATS, MetricGate, Recipe, RecipeNotFound
from tfx_keras_estimator.components.trainer.renamed import current_name

RECIPE_FILE = 'recipe.toml'
_REQUIRED = ('task', 'label_key', 'preprocessing_fn', 'model_builder', 'gate')
_PATH_KEYS = ('preprocessing_fn', 'model_builder', 'weight_labels')
_GATE_KEYS = ('metric', 'higher_is_better', 'bound', 'change_tolerance')
_KEYS = {'name', 'description', 'task', 'label_key', 'transformed_label_key', 'preprocessing_fn', 'model_builder',
         'gate', 'prediction_key', 'class_labels', 'train_steps', 'train_epochs', 'eval_steps', 'hparams',
         'slice_features', 'weight_labels', 'data_format', 'canned_estimator', 'split_buckets', 'schema', 'data',
         'transform', 'missing_tokens', 'candidates'}


def _read_toml(path: Path) -> Dict[str, Any]:
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise RecipeNotFound(f'recipe file {path}: {e}') from e


def _importable_folder(folder: Path) -> str:
    """Makes the folder a package importable under its own name; returns that name."""
    name = folder.name
    if not name.isidentifier():
        raise RecipeNotFound(f'recipe folder {folder}: its name {name!r} is not a Python identifier, so its code '
                             'cannot be imported; rename it (e.g. with underscores)')
    parent = str(folder.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    spec = importlib.util.find_spec(name)
    locations = [str(Path(p).resolve()) for p in (spec.submodule_search_locations or [])] if spec else []
    if str(folder) not in locations:
        where = spec.origin if spec and spec.origin else locations
        raise RecipeNotFound(f'recipe folder {folder}: the name {name!r} is already taken by {where}; rename the '
                             'folder')
    return name


def _dotted(value: str, folder: Path, package: str | None) -> str:
    value = current_name(value)  # a recipe.toml written with the old top-level names
    head = value.replace(':', '.').split('.')[0]
    if (folder / f'{head}.py').is_file() or (folder / head).is_dir():
        if package is None:
            package = _importable_folder(folder)
        return f'{package}.{value}'
    return value


def load_recipe_folder(folder: Path) -> Recipe:
    """The Recipe a folder describes; paths in it resolve relative to the folder."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise RecipeNotFound(f'recipe folder {folder} does not exist')
    path = folder / RECIPE_FILE
    if not path.is_file():
        raise RecipeNotFound(f'recipe folder {folder} has no {RECIPE_FILE} (the file that describes the recipe; '
                             '`tke init` writes one)')
    spec = _read_toml(path)
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise RecipeNotFound(f'{path}: unknown key(s) {unknown}; known keys: {sorted(_KEYS)}')
    missing = [key for key in _REQUIRED if key not in spec]
    if missing:
        raise RecipeNotFound(f'{path}: missing key(s) {missing}')
    gate = spec['gate']
    if not isinstance(gate, dict) or not {'metric', 'higher_is_better', 'bound'} <= set(gate) \
            or set(gate) - set(_GATE_KEYS):
        raise RecipeNotFound(f'{path}: [gate] needs metric, higher_is_better and bound (and optionally '
                             f'change_tolerance), got {gate!r}')
    if spec.get('data_format', 'csv') not in DATA_FORMATS:
        raise RecipeNotFound(f'{path}: data_format {spec["data_format"]!r} is not one of {DATA_FORMATS}')
    package = None
    paths = {}
    for key in _PATH_KEYS:
        if spec.get(key):
            paths[key] = _dotted(str(spec[key]), folder, package)
            if paths[key] != spec[key]:
                package = paths[key].split('.')[0]
    fields = {k: v for k, v in spec.items() if k not in ('gate', 'schema', 'data', 'transform', *_PATH_KEYS)}
    for key in ('class_labels', 'slice_features', 'split_buckets', 'missing_tokens', 'candidates'):
        if key in fields:
            fields[key] = tuple(fields[key])
    try:
        return Recipe(
            name=spec.get('name', folder.name),
            description=spec.get('description', f'recipe folder {folder}'),
            transformed_label_key=spec.get('transformed_label_key', f'{spec["label_key"]}_xf'),
            gate=MetricGate(**gate),
            root=folder,
            schema_file=spec.get('schema', 'schema.pbtxt'),
            data_subdir=spec.get('data', 'data'),
            transform_config=dict(spec.get('transform', {})),
            **{k: v for k, v in fields.items() if k not in ('name', 'description', 'transformed_label_key')},
            **paths,
        )
    except (TypeError, ValueError) as e:
        raise RecipeNotFound(f'{path}: {e}') from e
