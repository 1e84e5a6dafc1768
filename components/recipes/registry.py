"""The recipe registry: everything the pipeline needs to know about one use case.

A recipe ties together a checked-in schema, shipped data, a ``preprocessing_fn``
and a Keras model builder (both by dotted path, so TFX imports them from the
installed package), the task type and the Evaluator's quality gates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

# The repository root: schemas/ and data/ live beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

REGRESSION = 'regression'
BINARY_CLASSIFICATION = 'binary_classification'
MULTICLASS_CLASSIFICATION = 'multiclass_classification'
TASKS = (REGRESSION, BINARY_CLASSIFICATION, MULTICLASS_CLASSIFICATION)
# How the shipped data is stored: CSV files (CsvExampleGen) or TFRecord files of
# tf.Examples (ImportExampleGen), e.g. for images as encoded bytes.
DATA_FORMATS = ('csv', 'tfrecord')


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
    """One use case: data, schema, features, model and quality gates."""

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
    hparams: Dict[str, Any] = field(default_factory=dict)
    # Raw features TFMA slices metrics by (besides the overall slice).
    slice_features: Tuple[str, ...] = ()
    # For linear models: dotted path of labels(tf_transform_output) -> one label per input
    # of the output unit, in order; run_fn then stores the labelled weights with the run
    # (for the recipe's own model builder only).
    weight_labels: Optional[str] = None
    # Relative to the project root; default schemas/<name>/ and data/<name>/.
    schema_relpath: Optional[str] = None
    data_relpath: Optional[str] = None
    # One of DATA_FORMATS: which ExampleGen reads data_dir, and how it is checked.
    data_format: str = 'csv'
    # The pre-made Estimator trained beside the Keras model with --canned-baseline:
    # 'linear' (LinearRegressor / LinearClassifier) or 'dnn' (DNNRegressor / DNNClassifier).
    canned_baseline: str = 'linear'
    # ExampleGen's hash split, train:eval buckets (TFX's default 2:1). A pipeline's
    # EvalSplitConfig, when given, overrides it.
    split_buckets: Tuple[int, int] = (2, 1)

    def __post_init__(self) -> None:
        if len(self.split_buckets) != 2 or min(self.split_buckets) < 1:
            raise ValueError(f'recipe {self.name!r}: split_buckets {self.split_buckets!r} must be two positive '
                             'bucket counts (train, eval)')
        if self.task not in TASKS:
            raise ValueError(f'recipe {self.name!r}: task {self.task!r} is not one of {TASKS}')
        if self.canned_baseline not in ('linear', 'dnn'):
            raise ValueError(f'recipe {self.name!r}: canned_baseline {self.canned_baseline!r} is not linear or dnn')
        if self.data_format not in DATA_FORMATS:
            raise ValueError(f'recipe {self.name!r}: data_format {self.data_format!r} is not one of {DATA_FORMATS}')

    @property
    def schema_path(self) -> Path:
        return PROJECT_ROOT / (self.schema_relpath or f'schemas/{self.name}/schema.pbtxt')

    @property
    def data_dir(self) -> Path:
        return PROJECT_ROOT / (self.data_relpath or f'data/{self.name}')

    def with_hparams(self, **overrides: Any) -> 'Recipe':
        return dataclasses.replace(self, hparams={**self.hparams, **overrides})


def _load_recipes() -> Dict[str, Recipe]:
    # Imported here so that each recipe's constants stay in its own package.
    from components.recipes.digits.features import RECIPE as digits
    from components.recipes.housing.features import RECIPE as housing
    from components.recipes.mobilenet.features import RECIPE as mobilenet
    from components.recipes.taxi.features import RECIPE as taxi
    from components.recipes.text.features import RECIPE as text

    return {r.name: r for r in (housing, taxi, digits, mobilenet, text)}


DEFAULT_RECIPE = 'housing'


def recipe_names() -> Tuple[str, ...]:
    return tuple(_load_recipes())


def get_recipe(name: str) -> Recipe:
    """Returns the recipe called ``name``, or a ValueError listing the known ones."""
    recipes = _load_recipes()
    if name not in recipes:
        raise ValueError(
            f'unknown recipe {name!r}; known recipes: {", ".join(sorted(recipes))}')
    return recipes[name]
