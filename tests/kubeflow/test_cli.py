"""``tke compile`` / ``tke submit`` as a user runs them, and the PipelineJob built offline."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess

import pytest
from google.auth.credentials import AnonymousCredentials

from tests.conftest import REPO_ROOT, run_tke
from tests.kubeflow.conftest import IMAGE, PIPELINE_ROOT, PROJECT, REGION, kfp_venv
from tfx_keras_estimator.kubeflow.compile import IMAGE_SITE
from tfx_keras_estimator.kubeflow.submit import SubmitConfig, build_job, describe


def test_dry_run_prints_the_job_and_submits_nothing(vertex_dry_run):
    out = vertex_dry_run.cli.stdout
    assert 'compiled housing for Vertex AI Pipelines (KFP v2)' in out
    assert 'display name:    tke-housing' in out
    assert f'template:        {vertex_dry_run.path} (pipeline tke-housing)' in out
    assert f'project/region:  {PROJECT} / {REGION}' in out
    assert f'pipeline root:   {PIPELINE_ROOT}' in out
    assert f'service account: runner@{PROJECT}.iam.gserviceaccount.com' in out
    assert 'train-args = {"num_steps": 50}' in out  # --parameter overrides the spec's default
    assert f'data-root = {IMAGE_SITE}/tfx_keras_estimator/components/recipes/housing/data' in out
    assert out.rstrip().endswith('dry run: nothing was submitted')


def test_pipeline_job_built_offline_from_the_compiled_json(vertex_dry_run):
    job = build_job(vertex_dry_run.path, 'gs://tke-test-bucket/other-root',
                    SubmitConfig(project=PROJECT, region=REGION, parameter_values={'eval-args': '{"num_steps": 3}'},
                                 enable_caching=False),
                    credentials=AnonymousCredentials())
    resource = job._gca_resource
    assert (job.project, job.location) == (PROJECT, REGION)
    assert resource.display_name == 'tke-housing'
    assert resource.runtime_config.gcs_output_directory == 'gs://tke-test-bucket/other-root'
    described = describe(job)
    assert described['parameters'] == {'data-root': f'{IMAGE_SITE}/tfx_keras_estimator/components/recipes/housing/data',
                                       'eval-args': '{"num_steps": 3}', 'train-args': json.dumps({'num_steps': 3000})}
    tasks = resource.pipeline_spec['root']['dag']['tasks']
    assert {'CsvExampleGen', 'Trainer', 'Evaluator', 'Pusher'} <= set(tasks)
    assert all(not t['cachingOptions'].get('enableCache', False) for t in tasks.values() if 'cachingOptions' in t)
    with pytest.raises(ValueError, match=r"unknown pipeline parameter\(s\) \['train-steps'\]"):
        build_job(vertex_dry_run.path, PIPELINE_ROOT,
                  SubmitConfig(project=PROJECT, region=REGION, parameter_values={'train-steps': '5'}),
                  credentials=AnonymousCredentials())


def test_compile_refuses_paths_of_this_machine(tmp_path):
    result = run_tke('compile', '--engine', 'kubeflow', '--pipeline-root', str(tmp_path), '--image', IMAGE)
    assert result.returncode == 2
    assert "is a path of this machine, which the pipeline's pods do not have" in result.stderr


@pytest.mark.parametrize('verb, args, message', [
    ('compile', ['--beam-arg=--runner=Dataflw'], '--beam-arg: --runner=Dataflw: not a Beam runner'),
    ('compile', ['--beam-arg=--temp_location'], "--beam-arg '--temp_location': Beam refuses it (argument "
                                                '--temp_location: expected one argument); write --temp_location=VALUE'),
    ('submit', ['--beam-arg=num_workers=3'], "--beam-arg 'num_workers=3': a Beam argument is --name=value"),
    ('compile', ['--cloud-config', '{cloud}'], 'dataflow: missing dataflow.temp_location (required keys: project, '
                                                'region, temp_location)'),
])
def test_bad_beam_input_is_refused_before_compiling(tmp_path, verb, args, message):
    cloud = tmp_path / 'cloud.json'
    cloud.write_text(json.dumps({'dataflow': {'project': PROJECT, 'region': REGION}}))
    where = ['--project', PROJECT, '--region', REGION] if verb == 'submit' else []
    result = run_tke(verb, '--engine', 'vertex', *where, '--pipeline-root', PIPELINE_ROOT, '--image', IMAGE,
                     '--output', str(tmp_path / 'spec.json'), *[a.format(cloud=cloud) for a in args])
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / 'spec.json').exists()


def test_main_environment_points_to_the_compile_environment():
    if importlib.util.find_spec('kfp') is not None:
        pytest.skip('this environment has kfp: nothing to point to')
    result = run_tke('compile', '--engine', 'vertex', '--pipeline-root', PIPELINE_ROOT, '--image', IMAGE)
    assert result.returncode == 2
    assert 'needs kfp.pipeline_spec' in result.stderr and 'make kfp-venv' in result.stderr


def test_help_lists_the_verbs():
    result = run_tke('--help')
    assert 'compile' in result.stdout and 'submit' in result.stdout


def test_runner_file_works_with_the_tfx_cli(tmp_path):
    """``tfx pipeline compile --engine vertex`` on the runner file (the tfx CLI finds kfp through the
    ``pip`` on PATH, so the compile environment goes first on it)."""
    bin_dir = kfp_venv() / 'bin'
    if not (bin_dir / 'tfx').exists():
        pytest.fail(f'no compile environment at {kfp_venv()}: run `make kfp-venv` (make test does)')
    env = {**os.environ, 'PATH': f'{bin_dir}{os.pathsep}{os.environ.get("PATH", "")}',
           'TKE_PIPELINE_ROOT': PIPELINE_ROOT, 'TKE_IMAGE': IMAGE, 'TKE_RECIPE': 'taxi',
           'TKE_OUTPUT': str(tmp_path / 'taxi.json')}
    proc = subprocess.run([str(bin_dir / 'tfx'), 'pipeline', 'compile', '--engine', 'vertex', '--pipeline_path',
                           str(REPO_ROOT / 'kubeflow' / 'vertex_runner.py')],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert 'Pipeline tke-taxi compiled successfully.' in proc.stdout
    spec = json.loads((tmp_path / 'taxi.json').read_text())
    assert spec['pipelineSpec']['pipelineInfo']['name'] == 'tke-taxi'
    assert spec['pipelineSpec']['deploymentSpec']['executors']['Trainer_executor']['container']['image'] == IMAGE


def test_compile_an_outside_recipe_folder_names_its_code_and_files_in_the_image(tmp_path):
    from tests.kubeflow.conftest import run_kfp_tke
    from tests.kubeflow.test_compile import v2_constant, v2_tasks

    folder = REPO_ROOT / 'examples' / 'wine_recipe'
    result = run_kfp_tke('compile', '--engine', 'vertex', '--recipe', str(folder), '--pipeline-root', PIPELINE_ROOT,
                         '--image', IMAGE, '--output', str(tmp_path / 'wine.json'), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert 'compiled wine for Vertex AI Pipelines (KFP v2)' in result.stdout
    assert f'python -m tfx_keras_estimator.kubeflow.image_check --recipe {folder}' in result.stdout
    tasks = v2_tasks((tmp_path / 'wine.json').read_text())
    assert v2_constant(tasks['Transform'], 'preprocessing_fn') == 'wine_recipe.preprocessing.preprocessing_fn'
    assert v2_constant(tasks['ImportSchemaGen'], 'schema_file') == f'{IMAGE_SITE}/wine_recipe/schema.pbtxt'
    custom = json.loads(v2_constant(tasks['Trainer'], 'custom_config'))['tke_trainer']
    assert custom['model_builder'] == 'wine_recipe.model.build' and custom['task']['label_key'] == 'cultivar'


def test_compile_a_recipe_written_by_tke_init(tmp_path):
    from tests.kubeflow.conftest import run_kfp_tke
    from tests.kubeflow.test_compile import v2_constant, v2_tasks

    written = run_tke('init', '--data', str(REPO_ROOT / 'examples' / 'data' / 'wine' / 'wine.csv'), '--label',
                      'cultivar', '--output', str(tmp_path / 'wine_init'))
    assert written.returncode == 0, written.stderr[-3000:]
    result = run_kfp_tke('compile', '--engine', 'vertex', '--recipe', str(tmp_path / 'wine_init'), '--pipeline-root',
                         PIPELINE_ROOT, '--image', IMAGE, '--output', str(tmp_path / 'wine.json'), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    tasks = v2_tasks((tmp_path / 'wine.json').read_text())
    assert v2_constant(tasks['Transform'], 'preprocessing_fn') == \
        'tfx_keras_estimator.components.recipes.generic.preprocessing.preprocessing_fn'
    assert v2_constant(tasks['ImportSchemaGen'], 'schema_file') == f'{IMAGE_SITE}/wine_init/schema.pbtxt'
    transform_config = json.loads(v2_constant(tasks['Transform'], 'custom_config'))
    assert 'alcohol' in transform_config['numeric'] and transform_config['tke_task']['label_key'] == 'cultivar'
