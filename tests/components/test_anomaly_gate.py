"""AnomalyGate's reading and wording of ExampleValidator's anomalies (the gate itself
runs in tests/e2e/test_anomaly_gate.py)."""

from __future__ import annotations

from tensorflow_metadata.proto.v0 import anomalies_pb2

from tfx_keras_estimator.components.anomaly_gate import SEVERITIES, describe, read_anomalies


def _anomalies(feature, severity, description):
    anomalies = anomalies_pb2.Anomalies()
    info = anomalies.anomaly_info[feature]
    info.severity = severity
    info.reason.add(description=description)
    return anomalies


def test_errors_are_listed_in_plain_words():
    found = {'train': _anomalies('payment_type', anomalies_pb2.AnomalyInfo.ERROR,
                                 'Examples contain values missing from the schema: Bitcoin.')}
    assert describe(found, SEVERITIES['error']) == [
        "split 'train', column 'payment_type': Examples contain values missing from the schema: Bitcoin."]


def test_warnings_only_stop_when_asked():
    found = {'eval': _anomalies('fare', anomalies_pb2.AnomalyInfo.WARNING, 'Some drift.')}
    assert describe(found, SEVERITIES['error']) == []
    assert len(describe(found, SEVERITIES['warning'])) == 1


def test_reads_each_split(tmp_path):
    (tmp_path / 'Split-train').mkdir()
    anomalies = _anomalies('rm', anomalies_pb2.AnomalyInfo.ERROR, 'Expected FLOAT, got BYTES.')
    (tmp_path / 'Split-train' / 'SchemaDiff.pb').write_bytes(anomalies.SerializeToString())
    found = read_anomalies(str(tmp_path), ['train', 'eval'])
    assert list(found) == ['train']
    assert found['train'].anomaly_info['rm'].reason[0].description == 'Expected FLOAT, got BYTES.'
