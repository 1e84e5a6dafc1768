"""The generic TFX Trainer ``run_fn``: a thin adapter from ``fn_args`` to small functions.

Used as ``Trainer(run_fn='tfx_keras_estimator.components.trainer.run_fn', custom_config=TrainerConfig(...)
.to_custom_config())``: the code is imported from the installed package.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from typing import Callable, Dict, Iterator, List, Sequence, Tuple

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx import v1 as tfx

from tfx_keras_estimator.components.trainer import canned, cluster, export, stack
from tfx_keras_estimator.components.trainer import estimator as est
from tfx_keras_estimator.components.trainer.checkpoints import intact_latest_checkpoint
from tfx_keras_estimator.components.trainer.config import (
    CANNED_MODE,
    ESTIMATOR_MODE,
    KERAS_FILE_MODE,
    KERAS_FIT_MODE,
    NATIVE_MODES,
    TrainerConfig,
)
from tfx_keras_estimator.components.trainer.convert import (
    BEST_MODEL_FILE,
    TrainingDivergedError,
    convert_keras_file,
    fit_keras,
)
from tfx_keras_estimator.components.trainer.input_fn import make_input_fn
from tfx_keras_estimator.components.trainer.keras_file import check_keras_file
from tfx_keras_estimator.components.trainer.model import (
    build_model,
    check_input_names,
    check_model_inputs,
    compile_model,
    import_by_path,
)
from tfx_keras_estimator.components.trainer.progress import ProgressMeter
from tfx_keras_estimator.components.trainer.progress_hooks import ProgressCallback, ProgressHook
from tfx_keras_estimator.components.trainer.tuning import tuned
from tfx_keras_estimator.components.trainer.weights import WEIGHTS_FILE, linear_weights, write_weights

ESTIMATOR_SUBDIR = 'estimator'
# Mode keras_fit keeps the best Keras model and the fit's numbers here, in the ModelRun.
KERAS_SUBDIR = 'keras'
FIT_SUMMARY_FILE = 'fit_summary.json'


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


@dataclasses.dataclass(frozen=True)
class _Run:
    """What every mode of one Trainer execution works from."""

    fn_args: tfx.components.FnArgs
    config: TrainerConfig
    tf_transform_output: tft.TFTransformOutput
    # The modern stack's strategy in a TF_CONFIG cluster (native.cluster_strategy); else None.
    strategy: tf.distribute.Strategy | None = None

    @property
    def transformed_keys(self) -> Sequence[str]:
        return list(self.tf_transform_output.transformed_feature_spec().keys())


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """Builds the Keras model, converts it, trains with train_and_evaluate, exports: the mode's way."""
    config = tuned(TrainerConfig.from_custom_config(fn_args.custom_config), fn_args.hyperparameters)
    if config.candidates:
        logging.warning('%r lists %d candidate models but no Tuner chose one: the hparams are trained as they are',
                        config.name, len(config.candidates))
    modern = stack.current() == stack.MODERN
    if modern and config.mode not in NATIVE_MODES:
        raise stack.legacy_only(f'Trainer mode {config.mode!r} of {config.name!r}')
    strategy = None
    if modern and cluster.is_distributed_by_tf_config():
        from tfx_keras_estimator.components.trainer import native

        strategy = native.cluster_strategy(config.name)  # first: before TensorFlow runs an op
    if not modern and cluster.is_parameter_server():
        # A parameter server only serves variables (until the chief is done): no model, no data.
        return cluster.serve_parameters(fn_args.model_run_dir)
    run = _Run(fn_args, config, tft.TFTransformOutput(fn_args.transform_graph_path), strategy)
    if config.task.transformed_label_key not in run.transformed_keys:
        raise ValueError(
            f'the transformed label {config.task.transformed_label_key!r} of {config.name!r} is not '
            f'a Transform output; outputs: {sorted(run.transformed_keys)}')
    export.kept_raw_features(run.tf_transform_output, config.eval_features)  # fails before training, not after
    (_native_mode if modern else _MODES[config.mode])(run)


@dataclasses.dataclass(frozen=True)
class NativeFit:
    """What the native trainer fits: the recipe's compiled model, its inputs and both datasets."""

    model: tf.keras.Model
    input_names: List[str]
    train: tf.data.Dataset
    evaluation: tf.data.Dataset


def native_fit_inputs(fn_args: tfx.components.FnArgs, config: TrainerConfig,
                      tf_transform_output: tft.TFTransformOutput,
                      strategy: tf.distribute.Strategy | None = None) -> NativeFit:
    """The model and datasets of a native fit, built as the Trainer builds them (no training).

    With a ``strategy`` (a cluster), the model's variables are the strategy's, and each task
    reads its own part of the training data (``cluster``-style shards) in batches of the
    global batch size split among all replicas: a step of the cluster sees as many rows as a
    step of one machine. Every task evaluates on the whole eval split.
    """
    if config.random_seed is not None:
        # Repeatable runs, as the Estimator's tf_random_seed makes them on the legacy stack.
        tf.keras.utils.set_random_seed(config.random_seed)
    run = _Run(fn_args, config, tf_transform_output)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model, input_names = _built_model(run)
    batch_size, eval_batch_size = _batch_sizes(config)
    input_fn = _input_fn_factory(fn_args, config, tf_transform_output, input_names)
    if strategy is None:
        return NativeFit(model, input_names, input_fn(fn_args.train_files, batch_size, True)(),
                         input_fn(fn_args.eval_files, eval_batch_size, False)())

    def distributed(files: List[str], size: int, train: bool) -> tf.distribute.DistributedDataset:
        def per_task(context: tf.distribute.InputContext) -> tf.data.Dataset:
            shard = (context.input_pipeline_id, context.num_input_pipelines) if train else None
            per_replica = max(1, -(-size // context.num_replicas_in_sync))
            return input_fn(files, per_replica, train, shard=shard)()
        return strategy.distribute_datasets_from_function(per_task)

    return NativeFit(model, input_names, distributed(fn_args.train_files, batch_size, True),
                     distributed(fn_args.eval_files, eval_batch_size, False))


def _native_mode(run: _Run) -> None:
    """The modern stack (no Estimator): the recipe's model fit natively in Keras, exported with
    the legacy serving contract (native.py)."""
    from tfx_keras_estimator.components.trainer import native

    fn_args, config = run.fn_args, run.config
    built = native_fit_inputs(fn_args, config, run.tf_transform_output, run.strategy)
    if fn_args.base_model:
        native.warm_start(built.model, fn_args.base_model)
    native.fit(built.model, built.train, built.evaluation, config, fn_args.train_steps, fn_args.eval_steps,
               checkpoint_dir(fn_args, config), config.batch_size,
               log_dir=os.path.join(fn_args.model_run_dir, KERAS_SUBDIR))
    scratch = os.path.join(fn_args.model_run_dir, 'export-scratch')
    tf.io.gfile.makedirs(scratch)
    chief = native.is_chief(run.strategy)

    def export_model() -> None:
        native.export_native(built.model, config.task, run.tf_transform_output, built.input_names,
                             fn_args.serving_model_dir, scratch, chief=chief)

    if run.strategy is None:
        return export_model()
    # Every replica's executor checks the Model artifact after run_fn: the others end once the chief has
    # exported, or fail with it (the same marker as the Estimator's cluster, cluster.py).
    task = native.task_name()
    if not chief:
        export_model()
        return cluster.wait_for_chief(fn_args.model_run_dir, task)
    try:
        export_model()
    except Exception as e:
        cluster.write_marker(fn_args.model_run_dir, cluster.FAILED, f'{type(e).__name__}: {e}')
        raise
    cluster.write_marker(fn_args.model_run_dir, cluster.DONE)


def _keras_file_mode(run: _Run) -> None:
    """Converts a Keras model trained elsewhere (on the chief only)."""
    with _on_chief_only(run.fn_args, run.config.mode) as chief:
        if chief:
            _convert_keras_file(run.fn_args, run.config, run.tf_transform_output)


def _canned_mode(run: _Run) -> None:
    """A pre-made Estimator on feature columns derived from the transformed feature spec."""
    task, hparams = run.config.task, run.config.hparams
    columns, input_names = canned.feature_columns(run.tf_transform_output, task.transformed_label_key,
                                                  task.canned_estimator)
    _train_and_export(run, lambda run_config: canned.make_estimator(task, columns, run_config, hparams),
                      input_names, model=None)


def _built_model(run: _Run) -> Tuple[tf.keras.Model, List[str]]:
    """The recipe's Keras model, built, checked against the transformed features, compiled."""
    config = run.config
    builder = import_by_path(config.model_builder)
    model = build_model(builder, run.tf_transform_output, config.hparams,
                        where=f'{config.model_builder!r} of {config.name!r}', task=config.task)
    input_names = check_model_inputs(model, run.transformed_keys, config.task.transformed_label_key)
    compile_model(model, config.task.task, config.hparams)
    return model, input_names


def _keras_fit_mode(run: _Run) -> None:
    """Keras fit on the chief, then the best model converted and exported."""
    model, input_names = _built_model(run)
    with _on_chief_only(run.fn_args, run.config.mode) as chief:
        if chief:
            _fit_then_convert(run.fn_args, run.config, run.tf_transform_output, model, input_names)


def _estimator_mode(run: _Run) -> None:
    """The Keras model through model_to_estimator and train_and_evaluate (every task of a cluster)."""
    model, input_names = _built_model(run)
    task = run.config.task

    def make_estimator(run_config: tf.estimator.RunConfig) -> tf.estimator.Estimator:
        return est.to_estimator(model, run_config, task.task, task.prediction_key, task.class_labels,
                                base_model_dir=run.fn_args.base_model)

    _train_and_export(run, make_estimator, input_names, model)


def _train_and_export(run: _Run, make_estimator: Callable[[tf.estimator.RunConfig], tf.estimator.Estimator],
                      input_names: Sequence[str], model: tf.keras.Model | None) -> None:
    """train_and_evaluate from the latest intact checkpoint; the chief exports."""
    fn_args, config = run.fn_args, run.config
    model_dir = checkpoint_dir(fn_args, config)
    # The chief restores (and so checks) the checkpoint; the other tasks of a cluster do not.
    latest = intact_latest_checkpoint(model_dir) if tf.estimator.RunConfig().is_chief else None
    if latest:
        logging.info('Trainer resumes from checkpoint %s (step %s of %d)', latest,
                     latest.rsplit('-', 1)[-1], fn_args.train_steps)
    run_config = est.make_run_config(model_dir, config, fn_args.train_steps)
    estimator = make_estimator(run_config)

    batch_size, eval_batch_size = _batch_sizes(config)
    input_fn = _input_fn_factory(fn_args, config, run.tf_transform_output, input_names)

    steps = _StepRecorder()
    hooks: List[tf.compat.v1.train.SessionRunHook] = [steps]
    if run_config.is_chief:
        hooks.append(ProgressHook(ProgressMeter(fn_args.train_steps, batch_size)))
    # In a cluster, each training task reads its own part of the training data (not the eval data).
    shard = cluster.training_shard(run_config)
    train_spec = tf.estimator.TrainSpec(
        input_fn(fn_args.train_files, batch_size, True, shard=shard), max_steps=fn_args.train_steps, hooks=hooks)
    eval_spec = tf.estimator.EvalSpec(
        input_fn(fn_args.eval_files, eval_batch_size, False), steps=fn_args.eval_steps,
        start_delay_secs=0, throttle_secs=config.eval_throttle_secs)
    try:
        # In a TF_CONFIG cluster, non-chief tasks return once the chief is done (cluster.py).
        metrics = cluster.train_and_evaluate(estimator, train_spec, eval_spec, fn_args.model_run_dir)
    except tf.compat.v1.train.NanLossDuringTrainingError as e:
        raise TrainingDivergedError(
            f'the training loss became NaN at step {steps.step} of {fn_args.train_steps} '
            f'({config.name!r}, hyperparameters {config.hparams}); nothing was exported. '
            'Lower the learning rate or check the data for extreme values.') from e
    logging.info('final training-time evaluation: %s', metrics)

    if not run_config.is_chief:
        # Workers and parameter servers only contribute to training.
        logging.info('task %s/%d: not the chief, nothing to export',
                     run_config.task_type, run_config.task_id)
        return
    with cluster.chief_reports_outcome(run_config, fn_args.model_run_dir):
        _export_chief(fn_args, config, estimator, model, run.tf_transform_output, model_dir)


_MODES: Dict[str, Callable[[_Run], None]] = {
    ESTIMATOR_MODE: _estimator_mode, KERAS_FIT_MODE: _keras_fit_mode, KERAS_FILE_MODE: _keras_file_mode,
    CANNED_MODE: _canned_mode,
}


def _batch_sizes(config: TrainerConfig) -> Tuple[int, int]:
    """Training and evaluation batch sizes (hparams ``batch_size``, ``eval_batch_size``)."""
    return config.batch_size, int(config.hparams.get('eval_batch_size', config.batch_size))


def _shared_seed(fn_args: tfx.components.FnArgs, config: TrainerConfig) -> int | None:
    """The shuffle seed: ``random_seed``, or, where it is None, one that every replica of this
    execution derives alike from the ModelRun URI they share (split batches need one order)."""
    if config.random_seed is not None:
        return config.random_seed
    return int(hashlib.sha256(fn_args.model_run_dir.encode()).hexdigest()[:8], 16)


def _input_fn_factory(fn_args: tfx.components.FnArgs, config: TrainerConfig,
                      tf_transform_output: tft.TFTransformOutput, input_names: Sequence[str]) -> Callable:
    def factory(files: List[str], size: int, shuffle: bool,
                shard: Tuple[int, int] | None = None) -> Callable[[], tf.data.Dataset]:
        seed = _shared_seed(fn_args, config) if shard else config.random_seed
        return make_input_fn(files, fn_args.data_accessor, tf_transform_output, config.task.transformed_label_key,
                             input_names, size, shuffle=shuffle, seed=seed, raw=config.raw_examples, shard=shard)

    return factory


def _fit_then_convert(fn_args: tfx.components.FnArgs, config: TrainerConfig,
                      tf_transform_output: tft.TFTransformOutput,
                      model: tf.keras.Model, input_names: Sequence[str]) -> None:
    """Mode keras_fit: Keras fit with early stopping, then the best model file is converted."""
    hparams = config.hparams
    batch_size, eval_batch_size = _batch_sizes(config)
    input_fn = _input_fn_factory(fn_args, config, tf_transform_output, input_names)
    # h5py writes local files only; the best model is copied into the ModelRun afterwards.
    local_dir = tempfile.mkdtemp(prefix='tke-keras-fit-')
    try:
        best_path = os.path.join(local_dir, BEST_MODEL_FILE)
        summary = fit_keras(
            model, input_fn(fn_args.train_files, batch_size, True)(),
            input_fn(fn_args.eval_files, eval_batch_size, False)(),
            fn_args.train_steps, fn_args.eval_steps, hparams, best_path,
            extra_callbacks=[ProgressCallback(ProgressMeter(fn_args.train_steps, batch_size))])
        keras_dir = os.path.join(fn_args.model_run_dir, KERAS_SUBDIR)
        tf.io.gfile.makedirs(keras_dir)
        tf.io.gfile.copy(best_path, os.path.join(keras_dir, BEST_MODEL_FILE), overwrite=True)
        with tf.io.gfile.GFile(os.path.join(keras_dir, FIT_SUMMARY_FILE), 'w') as f:
            json.dump(summary, f, indent=1)
        _convert_and_export(fn_args, config, tf_transform_output, best_path, model, input_names)
    finally:
        shutil.rmtree(local_dir, ignore_errors=True)


def _convert_keras_file(fn_args: tfx.components.FnArgs, config: TrainerConfig,
                        tf_transform_output: tft.TFTransformOutput) -> None:
    """Mode keras_file: a user's trained Keras model, checked without loading it, then converted."""
    task = config.task
    info = check_keras_file(config.keras_model_path, allow_code=config.allow_unsafe_keras_file)
    input_names = check_input_names(
        info.input_names, tf_transform_output.transformed_feature_spec().keys(), task.transformed_label_key)
    if task.prediction_key not in info.output_names:
        raise ValueError(f'{info.path}: the model has no output named {task.prediction_key!r} (outputs: '
                         f'{list(info.output_names)}); {config.name!r} serves that prediction key')
    _convert_and_export(fn_args, config, tf_transform_output, info.path, None, input_names)


def _convert_and_export(fn_args: tfx.components.FnArgs, config: TrainerConfig,
                        tf_transform_output: tft.TFTransformOutput, keras_model_path: str,
                        model: tf.keras.Model | None, input_names: Sequence[str]) -> None:
    # A fresh folder per execution: nothing trains here, so there is nothing to resume.
    model_dir = os.path.join(fn_args.model_run_dir, ESTIMATOR_SUBDIR)
    run_config = est.make_run_config(model_dir, config, max(1, fn_args.train_steps))
    task = config.task
    estimator = convert_keras_file(keras_model_path, run_config, task.task, task.prediction_key, task.class_labels)
    input_fn = _input_fn_factory(fn_args, config, tf_transform_output, input_names)
    _, eval_batch_size = _batch_sizes(config)
    metrics = estimator.evaluate(input_fn(fn_args.eval_files, eval_batch_size, False), steps=fn_args.eval_steps)
    logging.info('converted %s; evaluation of the converted Estimator: %s', keras_model_path, metrics)
    _export_chief(fn_args, config, estimator, model, tf_transform_output, model_dir)


@contextlib.contextmanager
def _on_chief_only(fn_args: tfx.components.FnArgs, mode: str) -> Iterator[bool]:
    """The Keras modes run on one replica: in a cluster, the others wait for the chief's outcome.

    Returning at once would fail their executors (no model yet) or end them before the
    chief has exported; they succeed or fail with the chief, as in estimator mode.
    """
    run_config = tf.estimator.RunConfig()  # reads TF_CONFIG
    if not run_config.is_chief:
        task = cluster.task_name(run_config)
        logging.info('task %s: mode %s runs on the chief only; waiting for it', task, mode)
        cluster.wait_for_chief(fn_args.model_run_dir, task)
        yield False
        return
    with cluster.chief_reports_outcome(run_config, fn_args.model_run_dir):
        yield True


def _export_chief(fn_args: tfx.components.FnArgs, config: TrainerConfig,
                  estimator: tf.estimator.Estimator, model: tf.keras.Model | None,
                  tf_transform_output: tft.TFTransformOutput, model_dir: str) -> None:
    """The chief's exports: serving and eval SavedModels, labelled weights, checkpoints."""
    task = config.task
    scratch = os.path.join(fn_args.model_run_dir, 'export-scratch')
    serving_spec = export.serving_feature_spec(tf_transform_output, task.label_key)
    export.export_serving_model(
        estimator, export.serving_receiver_fn(tf_transform_output, serving_spec),
        fn_args.serving_model_dir, scratch, assets_extra=export.model_description(task, tf_transform_output))
    export.export_eval_model(
        export.eval_estimator(estimator, tf_transform_output),
        export.eval_receiver_fn(tf_transform_output, task.transformed_label_key, config.eval_features),
        fn_args.eval_model_dir, scratch)
    logging.info('exported serving model to %s and eval model to %s',
                 fn_args.serving_model_dir, fn_args.eval_model_dir)
    # Labels describe one model's layout: the task spec names them only for that model.
    if task.weight_labels and model is not None:
        labels = import_by_path(task.weight_labels)(tf_transform_output)
        weights = linear_weights(estimator.get_variable_value, labels, task.prediction_key,
                                 batch_norm_layer=_batch_norm_before_output(model, task.prediction_key))
        write_weights(weights, os.path.join(fn_args.model_run_dir, WEIGHTS_FILE))
    if model_dir != os.path.join(fn_args.model_run_dir, ESTIMATOR_SUBDIR):
        # Exported: checkpoints and TensorBoard events join the ModelRun artifact.
        export.move_tree(model_dir, os.path.join(fn_args.model_run_dir, ESTIMATOR_SUBDIR))
