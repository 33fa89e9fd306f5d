"""The benchmark scripts keep running, and compare like with like: both engines compute the same step."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from datafiles import shared_datasets

from benchmarks import layers, ops, solo, startup, train_step, zoo
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


@pytest.mark.parametrize("case", ops.cases(batch=2), ids=lambda c: c.name)
def test_ops_give_both_engines_the_same_input_upstream_gradient_and_work(case):
    with backend.use_backend("numpy"):
        p = ops.prepare(case)
        p.fwd()
        mine = p.bwd()
    mine = tuple(g for g in (mine if isinstance(mine, tuple) else (mine,)) if g is not None)  # not of targets
    p.torch_fwd_bwd()
    ref = p.torch_fwd_bwd()
    assert len(mine) == len(ref)
    for i, (a, b) in enumerate(zip(mine, ref)):      # float32 sums over a batch: errors scale with the largest value
        scale = max(1.0, float(abs(b).max()))
        assert_close(a, b.numpy(), rtol=1e-3, atol=1e-4 * scale, name=f"{case.name} gradient {i}")


def test_solo_processes_get_the_users_environment_not_the_harness_settings(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")                # set by the harness after it started
    results = solo.measure(["fashion-ref"], ["numpy", "torch"], runs=1, batch=4, steps=1, warmup=1)
    assert [(r.engine, len(r.train)) for r in results] == [("numpy", 1), ("torch", 1)]
    assert all(r.train[0] > 0 and r.infer[0] > 0 and r.peak_mib[0] > 0 for r in results)
    assert "OMP_WAIT_POLICY" not in results[0].env and "openblas" in results[0].threads
    table = solo.format_table(results)
    assert "| fashion-ref | torch eager |" in table and "| **1.00x** |" in table


def test_layer_profile_times_every_layer_of_both_engines():
    ms = layers.measure("fashion-ref", "numpy", runs=1, steps=1, warmup=0, batch=4)
    n = len(WORKLOADS["fashion-ref"]["spec"]())
    assert {e: (len(d["fwd"]), len(d["bwd"])) for e, d in ms.items()} == {"numpy": (n, n), "torch": (n, n)}
    assert all(v >= 0 for d in ms.values() for row in d.values() for v in row)
    assert "| **total** |" in layers.format_table("fashion-ref", "numpy", ms)


def _zoo_results() -> dict:
    run = {"val_acc": 0.6, "test_acc": 0.861, "seconds": 1.0}
    sizes = {"params_224": 11_181_642, "macs_224": 1_814_000_000, "params_small": 700_000, "macs_small": 28_570_000}
    return {"date": "2026-01-01", "load": "0.1 0.1 0.1", "machine": "a test CPU", "chosen_lr": "0.003",
            "lrs": {"0.001": 0.5, "0.003": 0.6}, "selected_on": ["resnet18"],
            "models": {"resnet18": {**sizes, "speed": {"numba": 100.0, "torch": 50.0, "threads": "default"},
                                    "accuracy": {"0.001": {**run, "val_acc": 0.5}, "0.003": run}},
                       "nin": {**sizes, "speed": {"numba": 10.0, "torch": 50.0, "threads": "default",
                                                  "profile": [["functional/conv.py:conv2d_backward", 0.5]]},
                               "accuracy": {"0.003": {"error": "ValueError: boom"}}},
                       "vgg11": {**sizes, "accuracy": {"0.003": {**run, "test_acc": 0.257}}}}}


def test_zoo_page_shows_each_row_the_chosen_recipe_the_failures_and_what_limits_the_slow_models():
    page = zoo.render(_zoo_results(), ["resnet18", "nin", "vgg11"])
    assert "| resnet18 | 11.18M (+0.0%) |" in page and "| 100 / 50 | 2.00x | 86.1% |" in page
    assert "| 10 / 50 | 0.20x | fails (below) |" in page and "- **nin**: `ValueError: boom`" in page
    assert "| - | - | 25.7% |" in page and "Below 40% after the budget: vgg11 (no batch norm)." in page
    assert "| 0.001 | 50.0% |" in page and "| 0.003 (chosen) | 60.0% |" in page
    assert "The models resnet18 train once per candidate" in page
    assert "- **nin**: `functional/conv.py:conv2d_backward` 50%" in page
    assert f"- **nin**: {zoo.NOTES['nin']}" in page and "--model custom_cnn --epochs 30" in page


def test_zoo_speed_runs_both_engines_in_their_own_processes_from_the_same_weights():
    got = zoo.speeds("nin", steps=1, rounds=1)
    assert got["numba"] > 0 and got["torch"] > 0
    assert got["profile"] and all(0 <= share <= 1 for _, share in got["profile"])


@pytest.mark.data
def test_zoo_accuracy_run_reads_the_trainers_metrics(tmp_path):
    root = shared_datasets()
    if root is None:
        pytest.skip("real data not found: set MINICNN_DATA or provide ../shared/datasets/fashion_mnist")
    got = zoo.train("nin", 0.003, str(root), limit_train=128)
    assert set(got) == {"val_acc", "test_acc", "seconds"} and 0 <= got["val_acc"] <= 1 and 0 <= got["test_acc"] <= 1
    missing = zoo.train("nin", 0.003, str(tmp_path), limit_train=128)
    assert list(missing) == ["error"] and str(tmp_path) in missing["error"]
