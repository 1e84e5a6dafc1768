"""Recipes: bundles above the generic Trainer, one folder per built-in use case
(features.py, preprocessing.py, model.py, data/; schemas in the package's schemas/)."""

from tfx_keras_estimator.components.recipes.lookup import DEFAULT_RECIPE, get_recipe, load_recipe, recipe_names  # noqa: F401
from tfx_keras_estimator.components.recipes.registry import (  # noqa: F401
    BINARY_CLASSIFICATION,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    MetricGate,
    Recipe,
    RecipeNotFound,
    check_recipe,
)
