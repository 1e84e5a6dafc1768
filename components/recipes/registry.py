"""Recipes: bundles above the generic Trainer (``lookup.py`` finds one by name, path or folder).

A recipe ties together a schema, data, a ``preprocessing_fn`` and a Keras model
builder (both by dotted path, so TFX imports them where it runs), the task spec the
Trainer gets, and the Evaluator's quality gate. Its schema and data resolve against
the recipe's own folder (``root``), never against this repository: the built-in
recipes ship theirs as package data, found through ``importlib.resources``.

``--recipe`` takes a built-in name, a dotted path to a ``Recipe`` object in any
importable package (``my_pkg.recipes:CHURN`` or ``my_pkg.recipes.CHURN``), or a recipe
folder (``recipe.toml`` plus ``schema.pbtxt``; see ``tfx_keras_estimator.components.recipes.folder``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from tfx_keras_estimator.components.trainer.config import CANNED_MODE, KERAS_FILE_MODE, TrainerConfig
from tfx_keras_estimator.components.trainer.task import (  # noqa: F401 - the recipes' names for the tasks
    BINARY_CLASSIFICATION,
    CANNED_ESTIMATORS,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    TASKS,
    TaskSpec,
)

# How the data is stored: CSV files (CsvExampleGen) or TFRecord files of
# tf.Examples (ImportExampleGen), e.g. for images as encoded bytes.
DATA_FORMATS = ('csv', 'tfrecord')
# Transform's custom_config carries the recipe's task spec under this key (besides its
# transform_config), for a preprocessing_fn(inputs, custom_config) that needs the label.
TRANSFORM_TASK_KEY = 'tke_task'


class RecipeNotFound(ValueError):
    """A ``--recipe`` that names nothing loadable; the message says what was looked for, and where."""


@dataclass(frozen=True)
class MetricGate:
    """A TFMA threshold on one metric: an absolute bound and a change vs the baseline.

    ``change_tolerance`` is how much worse than the baseline (last blessed model)
    the candidate may be and still be blessed.
    """

    metric: str
    higher_is_better: bool
    bound: float
    change_tolerance: float = 0.0


@dataclass(frozen=True)
class Recipe:
    """One use case: data, schema, preprocessing, model, task and quality gate."""

    name: str
    description: str
    task: str
    label_key: str
    transformed_label_key: str
    preprocessing_fn: str
    model_builder: str
    gate: MetricGate
    # Keras output layer name: the estimator's prediction key.
    prediction_key: str = 'prediction'
    # Labels as strings, in index order, for the classification signature.
    class_labels: Tuple[str, ...] = ()
    train_steps: int = 1000
    eval_steps: int = 100
    # With train_epochs, the default train steps follow the data: at least train_steps, and
    # enough for train_epochs passes over the training rows (PipelineConfig.data_rows; tke
    # run's data check counts them), so a bigger table trains on all of it.
    train_epochs: Optional[float] = None
    hparams: Dict[str, Any] = field(default_factory=dict)
    # Models to choose from, each hparams over ``hparams``: TFX's Tuner trains each and the
    # Trainer trains the best on the eval split by the gate's metric (trainer/tuning.py).
    candidates: Tuple[Dict[str, Any], ...] = ()
    # Raw features TFMA slices metrics by (besides the overall slice).
    slice_features: Tuple[str, ...] = ()
    # For linear models: dotted path of labels(tf_transform_output) -> one label per input
    # of the output unit, in order; run_fn then stores the labelled weights with the run
    # (for the recipe's own model builder only).
    weight_labels: Optional[str] = None
    # One of DATA_FORMATS: which ExampleGen reads data_dir, and how it is checked.
    data_format: str = 'csv'
    # The pre-made Estimator trained beside the Keras model by a pipeline's canned_baseline
    # switch: 'linear' (LinearRegressor / LinearClassifier) or 'dnn' (DNNRegressor / DNNClassifier).
    canned_estimator: str = 'linear'
    # ExampleGen's hash split, train:eval buckets (TFX's default 2:1). A pipeline's
    # EvalSplitConfig, when given, overrides it.
    split_buckets: Tuple[int, int] = (2, 1)
    # Settings for the preprocessing_fn: Transform passes them as its ``custom_config``
    # argument, to a preprocessing_fn(inputs, custom_config) (the generic recipe's roles).
    transform_config: Dict[str, Any] = field(default_factory=dict)
    # Cells of a number column that mean "missing" (as R writes NA, pandas NaN): ExampleGen
    # writes them, and blank cells, as missing values, so the column stays numbers.
    missing_tokens: Tuple[str, ...] = ()
    # The recipe's own folder: schema_file and data_subdir resolve against it. None: the
    # folder of the module that defines the recipe (set by load_recipe).
    root: Optional[Path] = None
    schema_file: str = 'schema.pbtxt'
    data_subdir: str = 'data'

    def __post_init__(self) -> None:
        if len(self.split_buckets) != 2 or min(self.split_buckets) < 1:
            raise ValueError(f'recipe {self.name!r}: split_buckets {self.split_buckets!r} must be two positive '
                             'bucket counts (train, eval)')
        if self.train_epochs is not None and not self.train_epochs > 0:
            raise ValueError(f'recipe {self.name!r}: train_epochs must be positive, got {self.train_epochs!r}')
        if self.task not in TASKS:
            raise ValueError(f'recipe {self.name!r}: task {self.task!r} is not one of {TASKS}')
        if self.canned_estimator not in CANNED_ESTIMATORS:
            raise ValueError(f'recipe {self.name!r}: canned_estimator {self.canned_estimator!r} is not one of '
                             f'{CANNED_ESTIMATORS}')
        if self.data_format not in DATA_FORMATS:
            raise ValueError(f'recipe {self.name!r}: data_format {self.data_format!r} is not one of {DATA_FORMATS}')
        object.__setattr__(self, 'candidates', tuple(self.candidates))
        if any(not isinstance(c, dict) for c in self.candidates) or len(self.candidates) == 1:
            raise ValueError(f'recipe {self.name!r}: candidates are two or more tables of hparams (models to '
                             f'choose from), got {list(self.candidates)!r}')
        if self.root is not None:
            object.__setattr__(self, 'root', Path(self.root))
        object.__setattr__(self, 'missing_tokens', tuple(str(t) for t in self.missing_tokens))
        if any(not t.strip() or t != t.strip() for t in self.missing_tokens):
            raise ValueError(f'recipe {self.name!r}: missing_tokens {list(self.missing_tokens)} must be non-blank '
                             'and unpadded (cells are compared after stripping their padding)')

    def _root(self) -> Path:
        if self.root is None:
            raise ValueError(f'recipe {self.name!r} has no root folder for its schema and data; '
                             'load it with load_recipe, or give Recipe(root=...)')
        return self.root

    @property
    def schema_path(self) -> Path:
        return self._root() / self.schema_file

    @property
    def data_dir(self) -> Path:
        return (self._root() / self.data_subdir).resolve()

    @property
    def task_spec(self) -> TaskSpec:
        return TaskSpec(label_key=self.label_key, transformed_label_key=self.transformed_label_key, task=self.task,
                        class_labels=self.class_labels, prediction_key=self.prediction_key,
                        weight_labels=self.weight_labels, canned_estimator=self.canned_estimator)

    def trainer_config(self, model_builder: Optional[str] = None, hparams: Optional[Dict[str, Any]] = None,
                       **settings: Any) -> TrainerConfig:
        """The Trainer's config for this recipe: its task spec, builder and hyperparameters.

        ``model_builder`` replaces the recipe's builder (its weight labels and candidates then
        no longer apply); ``hparams`` override the recipe's; ``settings`` are other TrainerConfig fields.
        The eval model keeps only the raw features the recipe slices on (``eval_features``).
        """
        settings.setdefault('eval_features', self.slice_features)
        mode = settings.get('mode')
        own_model = model_builder is None and mode != KERAS_FILE_MODE
        task = self.task_spec if own_model and mode != CANNED_MODE else dataclasses.replace(
            self.task_spec, weight_labels=None)
        builder = None if mode in (KERAS_FILE_MODE, CANNED_MODE) else (model_builder or self.model_builder)
        # The candidates are variants of the recipe's own model: another builder trains its hparams.
        settings.setdefault('candidates', self.candidates if own_model and mode != CANNED_MODE else ())
        return TrainerConfig(task=task, model_builder=builder, name=self.name,
                             hparams={**self.hparams, **(hparams or {})}, **settings)

    def transform_custom_config(self) -> Dict[str, Any]:
        """What Transform passes to a preprocessing_fn(inputs, custom_config)."""
        return {**self.transform_config, TRANSFORM_TASK_KEY: dataclasses.asdict(self.task_spec)}

    def dotted_paths(self) -> Dict[str, str]:
        """Every dotted path TFX or run_fn imports for this recipe, by role."""
        paths = {'preprocessing_fn': self.preprocessing_fn, 'model_builder': self.model_builder}
        if self.weight_labels:
            paths['weight_labels'] = self.weight_labels
        return paths


def package_folder(package: str) -> Path:
    """A package's folder on disk, through importlib.resources (what its package data sits in)."""
    resources = importlib.resources.files(package)
    if not isinstance(resources, Path):
        raise ValueError(f'package {package!r} is not installed as plain files ({resources!r}); TFX reads '
                         'schemas and data by path')
    return resources


def read_schema(path: Path):
    """A text Schema proto file; a ValueError naming the file when it is missing or does not parse."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    path = Path(path)
    if not path.is_file():
        raise ValueError(f'schema file {path} does not exist')
    try:
        return text_format.Parse(path.read_text(encoding='utf-8'), schema_pb2.Schema())
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise ValueError(f'schema file {path} is not a text Schema proto: {e}') from e


def check_recipe(recipe: Recipe, model_builder: Optional[str] = None, schema=None) -> None:
    """Refuses, before any component runs, a recipe whose schema lacks its label or whose code does not import.

    ``model_builder`` (a user's, replacing the recipe's) is imported instead of the recipe's;
    ``schema``, when the caller has already read the recipe's, spares reading it again.
    Imports the recipe's modules, hence TensorFlow.
    """
    from tfx_keras_estimator.components.trainer.model import import_by_path

    where = f'recipe {recipe.name!r}'
    path = recipe.schema_path
    if schema is None:
        try:
            schema = read_schema(path)
        except ValueError as e:
            raise ValueError(f'{where}: {e}') from e
    names = [f.name for f in schema.feature]
    if recipe.label_key not in names:
        raise ValueError(f'{where}: the schema {path} has no feature {recipe.label_key!r} (the label_key); '
                         f'its features: {names}')
    paths = recipe.dotted_paths()
    if model_builder:
        paths['model_builder'] = model_builder
        paths.pop('weight_labels', None)
    for role, dotted in paths.items():
        try:
            target = import_by_path(dotted)
        except ValueError as e:
            raise ValueError(f'{where}: its {role} {dotted!r} does not import: {e}') from e
        if not callable(target):
            raise ValueError(f'{where}: its {role} {dotted!r} is a {type(target).__name__}, not a function')
