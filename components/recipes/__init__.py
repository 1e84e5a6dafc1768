"""Recipes: one folder per use case (features.py, preprocessing.py, model.py)."""

from components.recipes.registry import (  # noqa: F401
    BINARY_CLASSIFICATION,
    DEFAULT_RECIPE,
    MULTICLASS_CLASSIFICATION,
    REGRESSION,
    MetricGate,
    Recipe,
    get_recipe,
    recipe_names,
)
