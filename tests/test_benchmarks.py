"""The benchmark scripts keep running, and compare like with like: both engines compute the same step."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks import startup, train_step
from benchmarks.workloads import WORKLOADS
from minicnn import backend
from minicnn.testing import assert_close


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_both_engines_run_the_same_model_from_the_same_weights(workload):
    mini = train_step.make_engine("minicnn", workload, 3, "numpy")
    ref = train_step.make_engine("torch", workload, 3, "numpy")
    assert np.array_equal(backend.to_numpy(mini.x), ref.x.numpy())
    mini.model.eval()
    ref.model.eval()
    with torch.no_grad():
        want = ref.model(ref.x).numpy()
    assert_close(mini.model(mini.x), want, rtol=1e-4, atol=1e-5, name=f"{workload} logits")


def test_train_step_script_reports_positive_rates_and_their_ratio(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert train_step.main(["--workload", "fashion-ref", "--backend", "numpy", "--batch-size", "4", "--repeats", "1",
                            "--warmup", "1", "--no-memory", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["minicnn_train"] > 0 and row["torch_train"] > 0
    assert row["train_ratio"] == pytest.approx(row["minicnn_train"] / row["torch_train"])
    assert "| fashion-ref | numpy | 4 |" in capsys.readouterr().out


def test_memory_probe_measures_a_positive_peak():
    peak = train_step._peak_in_subprocess("minicnn", "fashion-ref", 4, "numpy", 1)
    assert 0 < peak < 1024


def test_startup_script_times_import_without_numba():
    result = startup.measure(1, "numpy")
    assert 0 < result["import_s"] < 30 and result["import_loads_numba"] is False
    assert result["warm_first_step_s"] > 0
