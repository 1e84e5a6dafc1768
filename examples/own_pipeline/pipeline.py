"""Your own TFX pipeline, with this package's Trainer in it (the README's example, run by a test).

Nothing here is a recipe: a CSV of your own (the UCI wine table), SchemaGen's inferred
schema, your Transform module file, your Keras model builder. The Trainer is TFX's, with
this package's ``run_fn``: the model goes through model_to_estimator and train_and_evaluate
and comes out as a serving SavedModel (TFT graph inside, predict + classify signatures)
plus the EvalSavedModel the Evaluator reads. Run from anywhere:

    python examples/own_pipeline/pipeline.py --output /tmp/wine-run
"""

import argparse
import os

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from wine_preprocessing import CLASSES, LABEL

from tfx_keras_estimator.components.trainer.config import TrainerConfig
from tfx_keras_estimator.components.trainer.task import MULTICLASS_CLASSIFICATION, TaskSpec

HERE = os.path.dirname(os.path.abspath(__file__))


def create_pipeline(output: str, train_steps: int) -> tfx.dsl.Pipeline:
    example_gen = tfx.components.CsvExampleGen(input_base=os.path.join(HERE, '..', 'data', 'wine'))
    statistics = tfx.components.StatisticsGen(examples=example_gen.outputs['examples'])
    schema = tfx.components.SchemaGen(statistics=statistics.outputs['statistics'])
    transform = tfx.components.Transform(
        examples=example_gen.outputs['examples'], schema=schema.outputs['schema'],
        module_file=os.path.join(HERE, 'wine_preprocessing.py'))
    trainer_config = TrainerConfig(
        task=TaskSpec(label_key=LABEL, transformed_label_key=f'{LABEL}_xf', task=MULTICLASS_CLASSIFICATION,
                      class_labels=CLASSES),
        model_builder='wine_model.build',  # importable where the Trainer runs: this folder
        hparams={'learning_rate': 0.01, 'batch_size': 32, 'units': 16},
        # Checkpoints outside the ModelRun, keyed by the training's inputs: a killed Trainer resumes.
        checkpoint_root=os.path.join(output, 'checkpoints'),
        name='wine')
    trainer = tfx.components.Trainer(
        run_fn='tfx_keras_estimator.components.trainer.run_fn',
        examples=transform.outputs['transformed_examples'],
        transform_graph=transform.outputs['transform_graph'],
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=5),
        custom_config=trainer_config.to_custom_config())
    # signature_name 'eval': the EvalSavedModel run_fn exports (Format-TFMA in the Model artifact).
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs['examples'], model=trainer.outputs['model'],
        eval_config=tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(signature_name='eval')],
            slicing_specs=[tfma.SlicingSpec()],
            metrics_specs=[tfma.MetricsSpec(thresholds={'accuracy': tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(lower_bound={'value': 0.8}))})]))
    pusher = tfx.components.Pusher(
        model=trainer.outputs['model'], model_blessing=evaluator.outputs['blessing'],
        push_destination=tfx.proto.PushDestination(filesystem=tfx.proto.PushDestination.Filesystem(
            base_directory=os.path.join(output, 'serving'))))
    return tfx.dsl.Pipeline(
        pipeline_name='wine', pipeline_root=os.path.join(output, 'pipeline'),
        components=[example_gen, statistics, schema, transform, trainer, evaluator, pusher],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(output, 'metadata.sqlite')),
        beam_pipeline_args=['--direct_running_mode=in_memory', '--direct_num_workers=1'])


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--output', default='wine-run', help='run directory (default: ./wine-run)')
    parser.add_argument('--train-steps', type=int, default=500)
    args = parser.parse_args()
    tfx.orchestration.LocalDagRunner().run(create_pipeline(os.path.abspath(args.output), args.train_steps))
