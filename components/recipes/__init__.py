"""Recipes: bundles above the generic Trainer, one folder per built-in use case
(features.py, preprocessing.py, model.py, schema.pbtxt, data/)."""

from tfx_keras_estimator.components.recipes.registry import (  # noqa: F401
    BINARY_CLASSIFICATION,
    DEFAULT_RECIPE,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    MetricGate,
    Recipe,
    RecipeNotFound,
    check_recipe,
    get_recipe,
    load_recipe,
    recipe_names,
)
