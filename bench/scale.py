"""The taxi pipeline at N times the shipped data: per-component times beside each Beam
component's single-pass limit, measured in the same run, and the peak memory of the run.

For each N (``--copies 1,10,100``; 1000 on request) it writes N copies of the taxi CSV
(``trip_start_timestamp`` shifted by a year per copy, so no two rows are equal and the hash
split sees new rows), runs ``tke run --recipe taxi`` on them from a fresh run directory as
a user would (a subprocess, recipe defaults; train steps follow the data), samples the RSS
and PSS of that process and all its children every 0.2 s, reads each component's time from
ML Metadata, and times the pre-run data check on its own. Then, on the same data and the
run's own artifacts, the limit of each Beam component's work done plainly in one process:

  ExampleGen     pyarrow's CSV reader + tfx_bsl's RecordBatchToExamples, one gzipped file
  StatisticsGen  TFDV's in-memory statistics on the whole table as one Arrow RecordBatch
  Transform      the run's transform graph (a tf.function) on ExampleGen's examples in batches of 4,096
  Evaluator      the pushed model's serving_default over the eval examples in batches of 4,096

Ratios, not seconds, are what to compare (these machines are noisy).

    .venv/bin/python bench/scale.py [--copies 1,10,100] [--work DIR] [--json FILE] [--no-limits]
        [--beam-mode auto|in_memory|multi_threading|multi_processing]
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import psutil

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.app.local_runner import BEAM_MODES
from tfx_keras_estimator.pipelines.app.report import latest_run

YEAR = 365 * 24 * 3600
BATCH = 4096
BEAM_COMPONENTS = ('CsvExampleGen', 'StatisticsGen', 'Transform', 'Evaluator')


def make_data(folder: Path, copies: int) -> int:
    """``copies`` CSV files of the taxi data, timestamps shifted per copy; returns the rows."""
    source = get_recipe('taxi').data_dir / 'chicago_taxi.csv'
    with source.open(newline='') as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    column = header.index('trip_start_timestamp')
    folder.mkdir(parents=True)
    for i in range(copies):
        with (folder / f'taxi_{i:04d}.csv').open('w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in rows:
                if row[column]:
                    row = [*row[:column], str(int(row[column]) + i * YEAR), *row[column + 1:]]
                writer.writerow(row)
    return len(rows) * copies


class PeakMemory:
    """The largest summed RSS and PSS of a process and all its children, sampled.

    RSS counts a page once per process that maps it, so the TensorFlow libraries every
    Beam worker loads are counted once per worker; PSS splits each shared page among the
    processes that share it, so its sum is what the tree takes from the machine.
    """

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.peak_rss = self.peak_pss = 0
        self.samples: List[Tuple[float, int, int]] = []  # (epoch seconds, RSS, PSS)
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)
        self._thread.start()

    def _sample(self, every: float) -> None:
        while not self._stop.is_set():
            try:
                tree = [self._process, *self._process.children(recursive=True)]
                rss = pss = 0
                for p in tree:
                    try:
                        info = p.memory_full_info()
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    rss += info.rss
                    pss += getattr(info, 'pss', info.rss)
                self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
                self.samples.append((time.time(), rss, pss))
            except psutil.NoSuchProcess:
                return
            time.sleep(every)

    def peak_between(self, start: float, end: float) -> Tuple[int, int]:
        """The largest RSS and PSS sampled from ``start`` to ``end`` (epoch seconds)."""
        inside = [(rss, pss) for t, rss, pss in self.samples if start <= t <= end]
        return (max(r for r, _ in inside), max(p for _, p in inside)) if inside else (0, 0)

    def stop(self) -> Tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak_rss, self.peak_pss


def run_pipeline(data: Path, run_dir: Path, beam_mode: str) -> Dict:
    tke = Path(sys.executable).with_name('tke')
    started = time.monotonic()
    process = subprocess.Popen([str(tke), 'run', '--recipe', 'taxi', '--data', str(data), '--output', str(run_dir),
                                '--beam-mode', beam_mode],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    memory = PeakMemory(process.pid)
    out, _ = process.communicate()
    wall = time.monotonic() - started
    peak_rss, peak_pss = memory.stop()
    if process.returncode != 0:
        raise RuntimeError(f'tke run failed:\n{out[-3000:]}')
    first = next(line for line in out.splitlines() if 'train steps' in line)
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-taxi')
    return {'wall_s': wall, 'peak_rss_gb': peak_rss / 1e9, 'peak_pss_gb': peak_pss / 1e9, 'steps_line': first.strip(),
            'auc': report.metrics.get('auc'),
            'components': {c.node_id: c.seconds for c in report.components},
            # Which component the memory grows in: the peaks while each one ran.
            'peak_pss_gb_by_component': {
                c.node_id: memory.peak_between(c.start_ms / 1000, c.end_ms / 1000)[1] / 1e9
                for c in report.components if c.seconds >= 1},
            'report': report}


def check_data(data: Path) -> None:
    """What ``tke run`` checks before any component runs (pipelines/data.py)."""
    from tfx_keras_estimator.pipelines.data import load_schema, validate_data_dir

    recipe = get_recipe('taxi')
    validate_data_dir(data, recipe, load_schema(recipe.schema_path))


def _timed(fn: Callable[[], object]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def limits(data: Path, report, scratch: Path) -> Dict[str, float]:
    """Seconds of the plain single-pass version of each Beam component's work, on the same data."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import tensorflow as tf
    import tensorflow_transform as tft
    from example_gen import raw_limit  # bench/example_gen.py: the same floor it measures
    from tensorflow_data_validation.statistics import stats_impl
    from tensorflow_data_validation.statistics import stats_options as options_lib

    out = {'CsvExampleGen': _timed(lambda: raw_limit(data, scratch / 'examples'))}

    def statistics() -> None:
        tables = [pacsv.read_csv(p) for p in sorted(glob.glob(str(data / '*.csv')))]
        table = pa.concat_tables(tables, promote=True)
        columns = []
        for column in table.columns:
            column = column.combine_chunks()
            offsets = pa.array(range(len(column) + 1), pa.int32())
            columns.append(pa.ListArray.from_arrays(offsets, column))
        batch = pa.RecordBatch.from_arrays(columns, table.schema.names)
        stats_impl.generate_statistics_in_memory(batch, options_lib.StatsOptions())

    out['StatisticsGen'] = _timed(statistics)
    examples = report.component('CsvExampleGen').outputs['Examples'][0]
    graph = report.component('Transform').outputs['TransformGraph'][0]
    tft_output = tft.TFTransformOutput(graph)
    spec = tft_output.raw_feature_spec()

    def dataset(split: str):
        files = sorted(glob.glob(f'{examples}/Split-{split}/*.gz'))
        return tf.data.TFRecordDataset(files, compression_type='GZIP').batch(BATCH).prefetch(2)

    layer = tft_output.transform_features_layer()

    # A graph, as Transform and serving run it (eagerly, the same work took 63 s at 100x, not 3.3 s).
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def apply(serialized):
        return layer(tf.io.parse_example(serialized, spec))

    def transform() -> None:
        for split in ('train', 'eval'):
            for batch in dataset(split):
                apply(batch)

    out['Transform'] = _timed(transform)
    serve = tf.saved_model.load(report.pushed_model).signatures['serving_default']
    out['Evaluator'] = _timed(lambda: [serve(examples=batch) for batch in dataset('eval')])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--copies', default='1,10,100', help='comma-separated multiples of the taxi data')
    parser.add_argument('--work', help='folder for data and runs (default: a temporary one)')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--no-limits', action='store_true', help='time the pipeline only')
    parser.add_argument('--beam-mode', default='auto', choices=BEAM_MODES,
                        help="tke run's --beam-mode (default: auto)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix='tke-scale-'))
    results: List[Dict] = []
    for copies in [int(c) for c in args.copies.split(',')]:
        data = work / f'data-{copies}x'
        rows = make_data(data, copies)
        size = sum(p.stat().st_size for p in data.iterdir()) / 1e6
        print(f'\n{copies}x: {rows:,} rows, {size:.0f} MB of CSV', flush=True)
        run = run_pipeline(data, work / f'run-{copies}x', args.beam_mode)
        print(f'  {run["steps_line"]}')
        limit = {} if args.no_limits else limits(data, run.pop('report'), work / f'limits-{copies}x')
        run.pop('report', None)
        print(f'  {"component":<18} {"seconds":>8} {"rows/s":>11} {"limit s":>8} {"x limit":>8} {"peak PSS":>9}')
        for node, seconds in run['components'].items():
            if seconds < 0.05 and node not in BEAM_COMPONENTS:
                continue
            counted = rows // 3 if node == 'Evaluator' else rows
            speed = f'{counted / seconds:>11,.0f}' if seconds and node in BEAM_COMPONENTS else ' ' * 11
            bound = limit.get(node)
            bound_s = f'{bound:8.1f}' if bound else ' ' * 8
            ratio = f'{seconds / bound:7.1f}x' if bound else ''
            pss = run['peak_pss_gb_by_component'].get(node)
            pss_s = f'{pss:7.2f} GB' if pss else ''
            print(f'  {node:<18} {seconds:8.1f} {speed} {bound_s} {ratio:>8} {pss_s:>9}')
        print(f'  whole run {run["wall_s"]:.1f} s, peak RSS {run["peak_rss_gb"]:.2f} GB (PSS {run["peak_pss_gb"]:.2f} '
              f'GB), eval AUC {run["auc"]:.4f}', flush=True)
        run['data_check_s'] = _timed(lambda data=data: check_data(data))
        print(f'  the pre-run data check alone: {run["data_check_s"]:.1f} s, '
              f'{run["data_check_s"] / run["wall_s"]:.1%} of the run (limit 5%)', flush=True)
        results.append({'copies': copies, 'rows': rows, 'csv_mb': size, **run, 'limits_s': limit})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
