"""``tke compile`` and ``tke submit``: the Kubeflow / Vertex AI verbs of the ``tke`` command line.

``tfx_keras_estimator.pipelines.app.cli`` registers them; imports here stay light (no TensorFlow until a
compile actually starts).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from tfx_keras_estimator.components.recipes.lookup import DEFAULT_RECIPE, recipe_names
from tfx_keras_estimator.kubeflow.compile import (
    ENGINES,
    CompileConfig,
    CompileEnvironmentMissing,
    check_environment,
    image_check_command,
)
from tfx_keras_estimator.pipelines.cloud import CloudConfig
from tfx_keras_estimator.pipelines.config import EXIT_BAD_INPUT, PipelineConfig

COMMANDS = ('compile', 'submit')
BEAM_ARG_HELP = ('a Beam pipeline option for every Beam component, after the ones tke sets (so yours win), '
                 'written with "=": --beam-arg=--name=value, or --beam-arg=--flag for a Beam switch; repeatable. '
                 'E.g. --beam-arg=--runner=PortableRunner --beam-arg=--job_endpoint=HOST:PORT')


def _parameter(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition('=')
    if not sep or not name:
        raise argparse.ArgumentTypeError(f'expected NAME=VALUE, got {text!r}')
    return name, value


def _add_compile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--recipe', default=DEFAULT_RECIPE, metavar='RECIPE',
                        help=f'a built-in recipe (default: {DEFAULT_RECIPE}), a dotted path to a Recipe object '
                             '(my_pkg.recipes:CHURN), or a recipe folder; its code and files must be in the image '
                             '(see the README, Run on Kubeflow / Vertex AI)')
    parser.add_argument('--pipeline-root', required=True, metavar='URI',
                        help='where the pipeline writes artifacts, e.g. gs://BUCKET/tke (Vertex: a gs:// URI)')
    parser.add_argument('--image', required=True, metavar='IMAGE',
                        help='the pipeline image (make image IMAGE=...) every component runs in')
    parser.add_argument('--output', metavar='FILE',
                        help='compiled spec (default: <pipeline name>.yaml for kubeflow, .json for vertex)')
    parser.add_argument('--data-root', metavar='URI',
                        help="data folder, CSV or TFRecord files as the recipe reads (default: the recipe's own "
                             'data inside the image); a runtime parameter of the spec')
    parser.add_argument('--serving-dir', metavar='URI', help="Pusher's folder (default: <pipeline root>/serving)")
    parser.add_argument('--train-steps', type=int, metavar='N',
                        help="default of the train-args runtime parameter (default: the recipe's)")
    parser.add_argument('--eval-steps', type=int, metavar='N',
                        help="default of the eval-args runtime parameter (default: the recipe's)")
    parser.add_argument('--pipeline-name', metavar='NAME', help='default: tke-<recipe>')
    parser.add_argument('--cloud-config', metavar='FILE',
                        help='JSON with scale-out options: {"dataflow": {...}, "vertex_training": {...}, '
                             '"vertex_endpoint": {...}} (see pipelines/cloud.py)')
    parser.add_argument('--no-cache', action='store_true', help='compile with caching off')
    parser.add_argument('--canned-baseline', action='store_true',
                        help="also train the recipe's pre-made Estimator and evaluate the Keras model against it")
    parser.add_argument('--no-runtime-parameters', action='store_true',
                        help='bake data root and steps into the spec instead of runtime parameters')
    parser.add_argument('--beam-arg', action='append', default=[], metavar='ARG', help=BEAM_ARG_HELP)


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    compile_ = sub.add_parser(
        'compile', help='compile the pipeline for Kubeflow Pipelines (v1 YAML) or Vertex AI (KFP v2 JSON)',
        description='Compile a recipe\'s pipeline (the same create_pipeline as `tke run`) for Kubeflow '
                    'Pipelines (--engine kubeflow: Argo workflow YAML) or Vertex AI Pipelines '
                    '(--engine vertex: pipeline JSON). Runs in the compile environment (make kfp-venv).')
    compile_.add_argument('--engine', required=True, choices=ENGINES)
    _add_compile_options(compile_)

    submit = sub.add_parser(
        'submit', help='compile for Vertex AI and submit a PipelineJob (--dry-run: build it offline)',
        description='Compile for Vertex AI Pipelines, then submit a PipelineJob with your application-default '
                    'credentials. --dry-run builds the job offline (anonymous credentials, no network) and '
                    'prints what would be submitted.')
    submit.add_argument('--engine', required=True, choices=['vertex'])
    submit.add_argument('--project', required=True)
    submit.add_argument('--region', required=True)
    submit.add_argument('--service-account', metavar='EMAIL', help='the service account the job runs as')
    submit.add_argument('--parameter', action='append', type=_parameter, default=[], metavar='NAME=VALUE',
                        help='override a runtime parameter (data-root, train-args, eval-args); repeatable')
    submit.add_argument('--dry-run', action='store_true', help='build the PipelineJob offline and print it')
    _add_compile_options(submit)


def _compile_config(args: argparse.Namespace) -> CompileConfig:
    cloud = CloudConfig()
    if args.cloud_config:
        path = Path(args.cloud_config)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f'--cloud-config {path}: {e}') from None
        cloud = CloudConfig.from_dict({**data, 'image': args.image})
    pipeline = PipelineConfig(
        recipe=args.recipe, pipeline_root=args.pipeline_root, data_root=args.data_root,
        serving_dir=args.serving_dir, train_steps=args.train_steps, eval_steps=args.eval_steps,
        pipeline_name=args.pipeline_name, enable_cache=not args.no_cache,
        runtime_parameters=not args.no_runtime_parameters, cloud=cloud, canned_baseline=args.canned_baseline,
        extra_beam_args=args.beam_arg)
    return CompileConfig(engine=args.engine, image=args.image, pipeline=pipeline, output=args.output)


def run(args: argparse.Namespace) -> int:
    try:
        config = _compile_config(args)
        check_environment(config.engine)
        if args.command == 'submit':
            from tfx_keras_estimator.kubeflow.submit import SubmitConfig

            submit_config = SubmitConfig(project=args.project, region=args.region,
                                         service_account=args.service_account,
                                         parameter_values=dict(args.parameter),
                                         enable_caching=False if args.no_cache else None)
    except (ValueError, CompileEnvironmentMissing) as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    from tfx_keras_estimator.kubeflow.compile import compile_pipeline

    try:
        output = compile_pipeline(config)
    except ValueError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    target = 'Kubeflow Pipelines (v1, Argo YAML)' if config.engine == 'kubeflow' else 'Vertex AI Pipelines (KFP v2)'
    recipe = config.pipeline.recipe
    print(f'compiled {recipe.name} for {target}: {output}')
    if args.recipe not in recipe_names():
        print(f'  your recipe must be in the image: check it there with `{image_check_command(args.recipe)}`')
    if args.command == 'compile':
        return 0
    return _submit(output, config, submit_config, args.dry_run)


def _submit(template: Path, config: CompileConfig, submit_config: Any, dry_run: bool) -> int:
    from tfx_keras_estimator.kubeflow import submit as submitting

    credentials = None
    if dry_run:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    try:
        job = submitting.build_job(template, config.pipeline.pipeline_root, submit_config, credentials)
    except ValueError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_job(submitting.describe(job), submit_config.service_account, template)
    if dry_run:
        print('dry run: nothing was submitted')
        return 0
    name = submitting.submit(job, submit_config.service_account)
    print(f'submitted: {name}')
    return 0


def _print_job(job: Dict[str, Any], service_account: Optional[str], template: Path) -> None:
    print('PipelineJob')
    print(f"  display name:    {job['display_name']}")
    print(f"  template:        {template} (pipeline {job['template']})")
    print(f"  project/region:  {job['project']} / {job['location']}")
    print(f"  pipeline root:   {job['pipeline_root']}")
    print(f"  service account: {service_account or '(the project default)'}")
    print('  parameters:')
    for name, value in sorted(job['parameters'].items()):
        print(f'    {name} = {value}')
