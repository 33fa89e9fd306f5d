"""The same training step on every backend (numpy, numba, cupy): same numbers, different speed.

What it teaches
    The backend is one switch, minicnn.set_backend(name) (or the context manager use_backend, or
    the MINICNN_BACKEND environment variable). The layers, the maths and the training loop do not
    change: only the kernel set behind them does (kernels/numpy_ref, kernels/numba_cpu,
    kernels/cupy_cuda). A model built on one backend moves to another through its state_dict, and
    the same step from the same weights gives the same loss and the same updated weights, up to
    float32 rounding. A backend that cannot run here (no CuPy, no GPU) raises BackendUnavailable
    with the reason; this script reports it and goes on.

What it prints
    One line per backend: its status, the time of the first step (which includes Numba's JIT
    compilation or CuPy's kernel build), the median time of the following steps, images per second,
    the loss, and the largest difference of the updated weights from the numpy result. Exits with
    status 1 if an available backend disagrees with numpy beyond float32 tolerance.

    python examples/05_backends.py                        # batch 32 of 1x28x28, 5 timed steps
    python examples/05_backends.py --batch 4 --repeats 1  # quick
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import minicnn
from minicnn import backend, nn, optim


def make_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def train_step(model: nn.Sequential, opt: optim.Optimizer, loss_fn: nn.CrossEntropyLoss, x: object,
               y: object) -> float:
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    model.backward(loss_fn.backward())
    opt.step()
    return loss


def initial_weights() -> dict[str, np.ndarray]:
    """The same initial weights every time: a seeded model built on numpy, as host arrays."""
    with minicnn.use_backend("numpy"):
        minicnn.manual_seed(0)
        return make_model().state_dict()


def run(name: str, x: np.ndarray, y: np.ndarray, repeats: int) -> tuple[float, float, float, dict[str, np.ndarray]]:
    """(first step s, median step s, loss of the first step, weights after it) on backend ``name``."""
    with minicnn.use_backend(name):
        model = make_model()
        model.load_state_dict(initial_weights())          # host arrays -> this backend's arrays
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        xd, yd = backend.asarray(x), backend.asarray(y)
        start = time.perf_counter()
        loss = train_step(model, opt, loss_fn, xd, yd)
        first = time.perf_counter() - start
        after = model.state_dict()                        # host NumPy copies
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            train_step(model, opt, loss_fn, xd, yd)
            backend.xp().asarray(model[0].weight.data).sum().item()   # wait for the GPU to finish
            times.append(time.perf_counter() - start)
    return first, statistics.median(times), loss, after


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5, help="timed steps after the first")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)

    reference: dict[str, np.ndarray] | None = None
    ok = True
    for name in ("numpy", "numba", "cupy"):
        try:
            first, step, loss, after = run(name, x, y, args.repeats)
        except minicnn.BackendUnavailable as exc:          # raised by use_backend(name): reported, not fatal
            print(f"{name:6s} unavailable: {exc}")
            continue
        reference = reference or after
        worst = max(float(np.max(np.abs(after[k].astype(np.float64) - reference[k]))) for k in after)
        ok &= worst <= 1e-4
        print(f"{name:6s} first step {first * 1e3:8.1f} ms, then {step * 1e3:8.1f} ms/step "
              f"({args.batch / step:7.0f} images/s); loss {loss:.5f}; weights vs numpy: {worst:.1e}")
    if not ok:
        print("MISMATCH: a backend's step differs from numpy's beyond float32 tolerance")
        return 1
    print("every available backend took the same step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
