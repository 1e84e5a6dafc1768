"""The generic TFX Trainer ``run_fn``: a thin adapter from ``fn_args`` to small functions.

Used as ``Trainer(run_fn='components.trainer.run_fn', custom_config=TrainerConfig(...)
.to_custom_config())``: the code is imported from the installed package.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx import v1 as tfx

from components.recipes.registry import Recipe, get_recipe
from components.trainer import estimator as est
from components.trainer import export
from components.trainer.config import TrainerConfig
from components.trainer.input_fn import make_input_fn
from components.trainer.model import (
    build_model,
    check_model_inputs,
    compile_model,
    import_by_path,
)
from components.trainer.weights import WEIGHTS_FILE, linear_weights, write_weights

ESTIMATOR_SUBDIR = 'estimator'


class TrainingDivergedError(RuntimeError):
    """The loss became NaN; nothing was exported, so nothing can be pushed."""


class _StepRecorder(tf.compat.v1.train.SessionRunHook):
    """Remembers the global step of the last step run, to name the step that diverged.

    Runs before Estimator's own NanTensorHook, which raises in the same step.
    """

    def __init__(self) -> None:
        self.step = 0

    def begin(self) -> None:
        self._global_step = tf.compat.v1.train.get_global_step()

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values) -> None:
        # The value read during a step is the count before the step's own increment.
        self.step = int(run_values.results) + 1


def checkpoint_dir(fn_args: tfx.components.FnArgs, config: TrainerConfig) -> str:
    """Where this training keeps its checkpoints.

    TFX gives every execution, a retry included, a new model run directory, so a
    Trainer killed mid-training would start again from step 0. With a
    ``checkpoint_root``, the folder is keyed by everything that defines the
    training (input data, transform graph, code, settings, steps, base model): a
    re-run of the same training finds the checkpoints of the killed one.
    """
    if not config.checkpoint_root:
        return os.path.join(fn_args.model_run_dir, ESTIMATOR_SUBDIR)
    key = json.dumps({
        'train_files': sorted(fn_args.train_files), 'eval_files': sorted(fn_args.eval_files),
        'transform_graph': fn_args.transform_graph_path, 'train_steps': fn_args.train_steps,
        'base_model': fn_args.base_model, 'trainer': dataclasses.asdict(config),
    }, sort_keys=True)
    return os.path.join(config.checkpoint_root, hashlib.sha256(key.encode()).hexdigest()[:20])


def _batch_norm_before_output(model: tf.keras.Model, output_name: str) -> str | None:
    """The BatchNormalization layer feeding the output unit directly, if there is one."""
    inbound = model.get_layer(output_name).inbound_nodes[0].inbound_layers
    layer = inbound[0] if isinstance(inbound, list) else inbound
    return layer.name if isinstance(layer, tf.keras.layers.BatchNormalization) else None


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Builds the Keras model, converts it, trains with train_and_evaluate, exports."""
    config = TrainerConfig.from_custom_config(fn_args.custom_config)
    recipe = get_recipe(config.recipe)
    hparams = {**recipe.hparams, **config.hparams}
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)

    transformed_keys = tf_transform_output.transformed_feature_spec().keys()
    if recipe.transformed_label_key not in transformed_keys:
        raise ValueError(
            f'the transformed label {recipe.transformed_label_key!r} of recipe {recipe.name!r} is not '
            f'a Transform output; outputs: {sorted(transformed_keys)}')
    builder = import_by_path(config.model_builder or recipe.model_builder)
    model = build_model(builder, tf_transform_output, hparams)
    input_names = check_model_inputs(model, transformed_keys, recipe.transformed_label_key)
    compile_model(model, recipe.task, hparams)

    model_dir = checkpoint_dir(fn_args, config)
    latest = tf.train.latest_checkpoint(model_dir)
    if latest:
        logging.info('Trainer resumes from checkpoint %s (step %s of %d)', latest,
                     latest.rsplit('-', 1)[-1], fn_args.train_steps)
    run_config = est.make_run_config(model_dir, config, fn_args.train_steps)
    estimator = est.to_estimator(
        model, run_config, recipe.task, recipe.prediction_key, recipe.class_labels,
        base_model_dir=fn_args.base_model)

    batch_size = int(hparams.get('batch_size', 64))
    eval_batch_size = int(hparams.get('eval_batch_size', batch_size))

    def input_fn(files, size, shuffle):
        return make_input_fn(files, fn_args.data_accessor, tf_transform_output,
                             recipe.transformed_label_key, input_names, size,
                             shuffle=shuffle, seed=config.random_seed)

    steps = _StepRecorder()
    train_spec = tf.estimator.TrainSpec(
        input_fn(fn_args.train_files, batch_size, True), max_steps=fn_args.train_steps, hooks=[steps])
    eval_spec = tf.estimator.EvalSpec(
        input_fn(fn_args.eval_files, eval_batch_size, False), steps=fn_args.eval_steps,
        start_delay_secs=0, throttle_secs=config.eval_throttle_secs)
    try:
        metrics, _ = tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
    except tf.compat.v1.train.NanLossDuringTrainingError as e:
        raise TrainingDivergedError(
            f'the training loss became NaN at step {steps.step} of {fn_args.train_steps} '
            f'(recipe {recipe.name!r}, hyperparameters {hparams}); nothing was exported. '
            'Lower the learning rate or check the data for extreme values.') from e
    logging.info('final training-time evaluation: %s', metrics)

    if not run_config.is_chief:
        # Workers and parameter servers only contribute to training.
        logging.info('task %s/%d: not the chief, nothing to export',
                     run_config.task_type, run_config.task_id)
        return
    _export_chief(fn_args, config, recipe, estimator, model, tf_transform_output, model_dir)


def _export_chief(fn_args: tfx.components.FnArgs, config: TrainerConfig, recipe: Recipe,
                  estimator: tf.estimator.Estimator, model: tf.keras.Model,
                  tf_transform_output: tft.TFTransformOutput, model_dir: str) -> None:
    """The chief's exports: serving and eval SavedModels, labelled weights, checkpoints."""
    scratch = os.path.join(fn_args.model_run_dir, 'export-scratch')
    serving_spec = export.serving_feature_spec(tf_transform_output, recipe.label_key)
    export.export_serving_model(
        estimator, export.serving_receiver_fn(tf_transform_output, serving_spec),
        fn_args.serving_model_dir, scratch)
    export.export_eval_model(
        estimator, export.eval_receiver_fn(tf_transform_output, recipe.transformed_label_key),
        fn_args.eval_model_dir, scratch)
    logging.info('exported serving model to %s and eval model to %s',
                 fn_args.serving_model_dir, fn_args.eval_model_dir)
    # Labels describe the recipe's own model; a user's builder has its own layout.
    if recipe.weight_labels and not config.model_builder:
        labels = import_by_path(recipe.weight_labels)(tf_transform_output)
        weights = linear_weights(estimator.get_variable_value, labels, recipe.prediction_key,
                                 batch_norm_layer=_batch_norm_before_output(model, recipe.prediction_key))
        write_weights(weights, os.path.join(fn_args.model_run_dir, WEIGHTS_FILE))
    if model_dir != os.path.join(fn_args.model_run_dir, ESTIMATOR_SUBDIR):
        # Exported: checkpoints and TensorBoard events join the ModelRun artifact.
        export.move_tree(model_dir, os.path.join(fn_args.model_run_dir, ESTIMATOR_SUBDIR))
