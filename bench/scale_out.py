"""Per-core rates of the work a distributed run hands out, measured here, for docs/scale-out.md.

Runs the taxi pipeline (``--copies`` copies of its 15k-row CSV) through ``tke run`` with every
Beam step on Beam's portable runner in this process (``--job_endpoint=embed
--environment_type=LOOPBACK``: one SDK worker, so the figures are one core's), which makes
each Beam component run what it runs on Dataflow: TFX's executors (StatisticsGen, Transform,
the Evaluator) and ExampleGen's Beam job. From the run's metadata: each component's wall time
and rows per second; the Trainer's training steps per second (its wall time, start-up and
export included: a floor). Prints a table; ``--json FILE`` keeps the figures.

    .venv/bin/python bench/scale_out.py [--copies 10] [--train-steps 2000] [--json bench/scale_out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from example_gen import make_data  # a sibling script (bench/ is on sys.path)

from tfx_keras_estimator.pipelines.app.report import latest_run

PORTABLE = ['--runner=PortableRunner', '--job_endpoint=embed', '--environment_type=LOOPBACK']
BEAM_COMPONENTS = ('CsvExampleGen', 'StatisticsGen', 'Transform', 'Evaluator')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--copies', type=int, default=10, help='copies of the taxi CSV (default 10: 150k rows)')
    parser.add_argument('--train-steps', type=int, default=2000)
    parser.add_argument('--work', help='work folder (default: a temporary one)')
    parser.add_argument('--json', help='write the figures to this file')
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix='bench-scale-out-'))
    rows = make_data(work / 'data', args.copies)
    size_mb = sum(p.stat().st_size for p in (work / 'data').iterdir()) / 1e6
    tke = Path(sys.executable).with_name('tke')
    started = time.monotonic()
    subprocess.run([str(tke), 'run', '--recipe', 'taxi', '--data', str(work / 'data'), '--output', str(work / 'run'),
                    '--train-steps', str(args.train_steps), '--no-cache',
                    *[f'--beam-arg={a}' for a in PORTABLE]], check=True)
    wall = time.monotonic() - started
    report = latest_run(str(work / 'run' / 'metadata.sqlite'), 'tke-taxi')
    seconds = {c.node_id: round(c.seconds, 1) for c in report.components}
    # ExampleGen reads every row; the others read the examples (StatisticsGen and Transform: all
    # of them; the Evaluator: the eval split, a third).
    read = {'CsvExampleGen': rows, 'StatisticsGen': rows, 'Transform': rows,
            'Evaluator': int(report.metrics.get('example_count', rows / 3))}
    figures = {
        'machine': f'{platform.machine()}, {os.cpu_count()} cores (one SDK worker: one core\'s rates)',
        'copies': args.copies, 'rows': rows, 'csv_mb': round(size_mb, 1), 'wall_seconds': round(wall, 1),
        'components_seconds': seconds,
        'rows_per_second': {c: round(read[c] / seconds[c]) for c in BEAM_COMPONENTS if seconds.get(c)},
        'csv_mb_per_second_example_gen': round(size_mb / seconds['CsvExampleGen'], 2),
        'train_steps': args.train_steps,
        'batch_size': 256,
        'trainer_steps_per_second_floor': round(args.train_steps / seconds['Trainer'], 1),
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + '\n')


if __name__ == '__main__':
    main()
