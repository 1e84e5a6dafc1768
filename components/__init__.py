"""TFX components of tfx-keras-estimator: the generic Trainer and the recipes."""
