"""AnomalyGate: stops the pipeline when ExampleValidator finds anomalies.

ExampleValidator only records anomalies; Transform and Trainer run anyway and a
model trained on drifted data can be pushed. The gate sits between them: it
reads the anomalies of every split and fails (so nothing downstream runs) when
any is at or above the configured severity, with an error listing each anomaly
in plain words.
"""


import os
from typing import List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils  # split names of an artifact; no public accessor in tfx.v1

SEVERITIES = {'warning': anomalies_pb2.AnomalyInfo.WARNING, 'error': anomalies_pb2.AnomalyInfo.ERROR}
ANOMALIES_FILE = 'SchemaDiff.pb'


class DataAnomaliesError(RuntimeError):
    """The data does not match the schema; the message lists every anomaly."""


def read_anomalies(uri: str, split_names: List[str]) -> dict:
    """``{split: Anomalies}`` from an ExampleAnomalies artifact's folders."""
    result = {}
    for split in split_names:
        path = os.path.join(uri, f'Split-{split}', ANOMALIES_FILE)
        if tfx.dsl.io.fileio.exists(path):
            with tfx.dsl.io.fileio.open(path, 'rb') as f:
                result[split] = anomalies_pb2.Anomalies.FromString(f.read())
    return result


def describe(anomalies_by_split: dict, min_severity: int) -> List[str]:
    """One plain line per anomaly at or above ``min_severity``."""
    lines = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        for feature, info in sorted(anomalies.anomaly_info.items()):
            if info.severity >= min_severity:
                lines.append(f"split '{split}', column '{feature}': {_words(info)}")
        info = anomalies.dataset_anomaly_info
        if info.reason and info.severity >= min_severity:
            lines.append(f"split '{split}', whole data set: {_words(info)}")
    return lines


def _words(info: anomalies_pb2.AnomalyInfo) -> str:
    reasons = '; '.join(r.description or r.short_description for r in info.reason)
    return reasons or info.description or info.short_description


@tfx.dsl.components.component
def AnomalyGate(  # noqa: N802 - TFX component names are class-like
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    min_severity: tfx.dsl.components.Parameter[str] = 'error',
) -> None:
    """Fails when the data has anomalies at or above ``min_severity`` ('error' or 'warning')."""
    if min_severity not in SEVERITIES:
        raise ValueError(f'min_severity must be one of {sorted(SEVERITIES)}, got {min_severity!r}')
    found = read_anomalies(anomalies.uri, artifact_utils.decode_split_names(anomalies.split_names))
    lines = describe(found, SEVERITIES[min_severity])
    if lines:
        raise DataAnomaliesError(
            f'the data does not match the schema ({len(lines)} anomal{"y" if len(lines) == 1 else "ies"}); '
            'Transform and Trainer were not run:\n  ' + '\n  '.join(lines))
