"""The generic, schema-driven recipe: the preprocessing_fn and Keras model builder that
``tke init`` names in the recipes it writes (swap either for your own in recipe.toml)."""
