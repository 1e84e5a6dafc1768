"""Choosing among a recipe's candidate models: TFX's Tuner component, with KerasTuner's grid search.

A recipe may list ``candidates``, each a dict of hyperparameters over its ``hparams`` (the
generic recipe's two: its wide & deep model, and the wide part alone, a linear model, which
wins where the data is linear and small). ``tuner_fn`` (the Tuner's entry point) trains each
candidate with Keras fit for the Trainer's steps on the train split and scores it on the eval
split by the recipe's gate metric; the Tuner writes the best as TFX's ``best_hyperparameters``
(``{'candidate': index}``), and run_fn trains that candidate in the recipe's mode (``tuned``).

The eval split scores the candidates as in TFX's own Tuner examples (there is no third split):
the Evaluator's figure for the pick is then measured on rows that took part in choosing it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

from absl import logging

from tfx_keras_estimator.components.trainer.config import TrainerConfig

CANDIDATE = 'candidate'
TUNER_CONFIG_KEY = 'tke_tuner'


def tuner_custom_config(config: TrainerConfig, metric: str, higher_is_better: bool) -> Dict[str, Any]:
    """The Tuner's ``custom_config``: the Trainer's config and the metric that picks (the gate's)."""
    if not config.candidates:
        raise ValueError(f'{config.name!r} has no candidates: there is nothing for a Tuner to choose')
    return {**config.to_custom_config(),
            TUNER_CONFIG_KEY: {'metric': metric, 'higher_is_better': bool(higher_is_better)}}


def tuned(config: TrainerConfig, hyperparameters: Optional[Dict[str, Any]]) -> TrainerConfig:
    """The config with the Tuner's best hyperparameters (a KerasTuner ``HyperParameters`` config,
    as TFX hands it to run_fn): the chosen candidate's hparams, and any other value as an hparam."""
    if not hyperparameters:
        return config
    values = dict(hyperparameters.get('values') or {})
    overrides: Dict[str, Any] = {}
    if CANDIDATE in values:
        index = values.pop(CANDIDATE)
        if not isinstance(index, int) or not 0 <= index < len(config.candidates):
            raise ValueError(f'the Tuner chose candidate {index!r}, but {config.name!r} has '
                             f'{len(config.candidates)} candidates: was the Tuner run with another config?')
        overrides.update(config.candidates[index])
        logging.info('Trainer: candidate %d of %d chosen by the Tuner: %s', index, len(config.candidates),
                     config.candidates[index] or 'the hparams as they are')
    overrides.update(values)
    return dataclasses.replace(config, hparams={**config.hparams, **overrides}, candidates=())


def tuner_fn(fn_args: Any) -> Any:
    """TFX Tuner's entry point: a grid search over the candidates (see the module's docstring)."""
    import keras_tuner
    import tensorflow as tf
    import tensorflow_transform as tft
    from tfx import v1 as tfx

    from tfx_keras_estimator.components.trainer.input_fn import make_input_fn
    from tfx_keras_estimator.components.trainer.model import (
        build_model,
        check_model_inputs,
        compile_model,
        import_by_path,
    )

    custom_config = fn_args.custom_config or {}
    config = TrainerConfig.from_custom_config(custom_config)
    objective = custom_config.get(TUNER_CONFIG_KEY)
    if not isinstance(objective, dict) or not isinstance(objective.get('metric'), str):
        raise ValueError(f"the Tuner's custom_config needs {{'{TUNER_CONFIG_KEY}': {{'metric': ..., "
                         f"'higher_is_better': ...}}}} (tuner_custom_config builds it); got {objective!r}")
    if not config.candidates:
        raise ValueError(f'{config.name!r} has no candidates: there is nothing for the Tuner to choose')
    task = config.task
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    keys = list(tf_transform_output.transformed_feature_spec())
    builder = import_by_path(config.model_builder)

    def build(hp: keras_tuner.HyperParameters) -> tf.keras.Model:
        index = hp.Choice(CANDIDATE, list(range(len(config.candidates))))
        hparams = {**config.hparams, **config.candidates[index]}
        if config.random_seed is not None:
            tf.keras.utils.set_random_seed(config.random_seed)  # each candidate starts alike
        model = build_model(builder, tf_transform_output, hparams, task=task,
                            where=f'{config.model_builder!r} of {config.name!r}, candidate {index}')
        check_model_inputs(model, keys, task.transformed_label_key)
        return compile_model(model, task.task, hparams)

    # The inputs every candidate takes: the first one's (a candidate that wants others fails in fit).
    input_names = build(keras_tuner.HyperParameters()).input_names
    batch_size = config.batch_size
    eval_batch_size = int(config.hparams.get('eval_batch_size', batch_size))

    def dataset(files, size: int, shuffle: bool):
        return make_input_fn(files, fn_args.data_accessor, tf_transform_output, task.transformed_label_key,
                             input_names, size, shuffle=shuffle, seed=config.random_seed,
                             raw=config.raw_examples)()

    class LoggedGridSearch(keras_tuner.GridSearch):
        """KerasTuner prints its summaries; TFX's Tuner asks for them: into the log instead.

        Each trial builds and fits its candidate here: KerasTuner >= 1.4 checks a built model
        against the ``keras`` package, which is Keras 3 beside TensorFlow >= 2.16, while the
        recipes' models are Keras 2 (``tf.keras``, tf_keras there), on both stacks alike."""

        def run_trial(self, trial, *args, **kwargs) -> Dict[str, float]:
            history = build(trial.hyperparameters).fit(*args, **kwargs)
            return {name: float(values[-1]) for name, values in history.history.items() if values}

        def search_space_summary(self, extended: bool = False) -> None:
            logging.info('Tuner: %d candidate models of %r: %s', len(config.candidates), config.name,
                         list(config.candidates))

        def results_summary(self, num_trials: int = 10) -> None:
            for trial in self.oracle.get_best_trials(num_trials):
                logging.info('Tuner: candidate %s scored val_%s %s', trial.hyperparameters.values.get(CANDIDATE),
                             metric, trial.score)

    metric = objective['metric']
    tuner = LoggedGridSearch(
        build, objective=keras_tuner.Objective(f'val_{metric}', 'max' if objective.get('higher_is_better') else 'min'),
        max_trials=len(config.candidates), directory=fn_args.working_dir, project_name='candidates',
        overwrite=True)
    return tfx.components.TunerFnResult(tuner=tuner, fit_kwargs={
        'x': dataset(fn_args.train_files, batch_size, True),
        'validation_data': dataset(fn_args.eval_files, eval_batch_size, False),
        # One pass of the Trainer's steps, scored once at its end (the datasets repeat forever).
        'epochs': 1, 'steps_per_epoch': max(1, int(fn_args.train_steps)),
        'validation_steps': max(1, int(fn_args.eval_steps)), 'verbose': 0})
