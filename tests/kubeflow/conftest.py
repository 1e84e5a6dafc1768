"""Compiled specs shared by the Kubeflow / Vertex tests: each comes from one real ``tke`` run
in the compile environment (.venv-kfp, ``make kfp-venv``; ``make test`` builds it)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, CliRun

IMAGE = 'europe-docker.pkg.dev/tke-project/pipelines/tke:1.0'
# A user's Beam argument (tke --beam-arg), overriding one of ours: it must come after it.
USER_BEAM_ARG = '--direct_num_workers=2'
PIPELINE_ROOT = 'gs://tke-test-bucket/pipelines'
PROJECT = 'tke-project'
REGION = 'europe-west4'
CLOUD_CONFIG = {
    'dataflow': {'project': PROJECT, 'region': REGION, 'temp_location': 'gs://tke-test-bucket/dataflow-tmp',
                 'machine_type': 'n1-standard-4', 'num_workers': 2, 'max_num_workers': 8,
                 'experiments': ['use_runner_v2', 'shuffle_mode=service'], 'extra_args': ['--no_use_public_ips']},
    'vertex_training': {'project': PROJECT, 'region': REGION,
                        # A GPU chief: accelerators are per pool.
                        'chief': {'machine_type': 'n1-standard-8', 'accelerator_type': 'NVIDIA_TESLA_T4',
                                  'accelerator_count': 1},
                        'workers': {'machine_type': 'n1-standard-8', 'replica_count': 2},
                        'parameter_servers': {'machine_type': 'n1-highmem-4', 'replica_count': 1},
                        'evaluator': {'machine_type': 'n1-standard-4'}},
    'vertex_endpoint': {'project': PROJECT, 'region': REGION, 'endpoint_name': 'tke-housing'},
}


def kfp_venv() -> Path:
    return Path(os.environ.get('TKE_KFP_VENV') or REPO_ROOT / '.venv-kfp')


def run_kfp_tke(*args: str, cwd: Path, timeout: int = 600) -> CliRun:
    """``tke`` of the compile environment, as a user runs it."""
    tke = kfp_venv() / 'bin' / 'tke'
    if not tke.exists():
        pytest.fail(f'no compile environment at {kfp_venv()}: run `make kfp-venv` (make test does)')
    proc = subprocess.run([str(tke), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def _ok(result: CliRun) -> CliRun:
    if result.returncode != 0:
        pytest.fail(f'tke failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}')
    return result


@dataclass
class Compiled:
    path: Path
    cli: CliRun

    @property
    def text(self) -> str:
        return self.path.read_text()


@pytest.fixture(scope='session')
def kubeflow_spec(tmp_path_factory) -> Compiled:
    """KFP v1 Argo YAML of the housing recipe, runtime parameters on (the default)."""
    out = tmp_path_factory.mktemp('kubeflow')
    result = _ok(run_kfp_tke('compile', '--engine', 'kubeflow', '--recipe', 'housing', '--pipeline-root',
                             PIPELINE_ROOT, '--image', IMAGE, '--train-steps', '700', '--output',
                             str(out / 'housing.yaml'), f'--beam-arg={USER_BEAM_ARG}', cwd=out))
    return Compiled(out / 'housing.yaml', result)


@pytest.fixture(scope='session')
def vertex_dry_run(tmp_path_factory) -> Compiled:
    """``tke submit --dry-run``: the Vertex JSON it compiled, and what it printed."""
    out = tmp_path_factory.mktemp('vertex')
    result = _ok(run_kfp_tke('submit', '--engine', 'vertex', '--recipe', 'housing', '--project', PROJECT,
                             '--region', REGION, '--pipeline-root', PIPELINE_ROOT, '--image', IMAGE,
                             '--service-account', f'runner@{PROJECT}.iam.gserviceaccount.com',
                             '--parameter', 'train-args={"num_steps": 50}', '--output', str(out / 'housing.json'),
                             f'--beam-arg={USER_BEAM_ARG}', '--dry-run', cwd=out))
    return Compiled(out / 'housing.json', result)


@pytest.fixture(scope='session')
def vertex_scale_out_spec(tmp_path_factory) -> Compiled:
    """Vertex JSON with Dataflow, Vertex AI Training (a GPU chief + 2 workers + 1 ps + an evaluator), an endpoint,
    the canned baseline."""
    out = tmp_path_factory.mktemp('vertex-scale-out')
    (out / 'cloud.json').write_text(json.dumps(CLOUD_CONFIG))
    result = _ok(run_kfp_tke('compile', '--engine', 'vertex', '--recipe', 'taxi', '--pipeline-root', PIPELINE_ROOT,
                             '--image', IMAGE, '--cloud-config', str(out / 'cloud.json'), '--no-cache',
                             '--canned-baseline', '--beam-arg=--max_num_workers=16',
                             '--output', str(out / 'taxi.json'), cwd=out))
    return Compiled(out / 'taxi.json', result)
