"""The same network in PyTorch and in minicnn: copy the weights across, get the same outputs and gradients.

What it teaches
    minicnn uses PyTorch's layouts (NCHW activations, OIHW conv weights, (out, in) Linear weights)
    and PyTorch's state_dict key names ("0.weight", "1.running_mean", ...). So moving a model
    between the two is one line each way:

        ours.load_state_dict({k: v.numpy().copy() for k, v in theirs.state_dict().items()})
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})

    and then the forward, the loss, the input gradient and every parameter gradient agree: in
    float64 to about 1e-15, in float32 to about 1e-6. The difference is how you get gradients:
    PyTorch records a graph and loss.backward() walks it; in minicnn every layer's backward(dy)
    is called explicitly, in reverse order (Sequential.backward does that for you).

What it prints
    The key names of both state_dicts, then for one training batch the largest difference of the
    logits, the loss, dx and each parameter's gradient; then the same after one SGD step on both
    sides (the batch-norm running statistics included). Exits with status 1 if any difference is
    above the dtype's tolerance.

    python examples/04_from_pytorch.py                      # float64, batch 8, 16x16 images
    python examples/04_from_pytorch.py --dtype float32 --batch 4 --size 12
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

import minicnn
from minicnn import backend, nn, optim


def minicnn_net(size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * (size // 4) ** 2, 10))


def torch_net(size: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * (size // 4) ** 2, 10))


def diff(a: object, b: torch.Tensor) -> float:
    return float(np.max(np.abs(np.asarray(backend.to_numpy(a), dtype=np.float64) - b.detach().double().numpy())))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=16, help="image height and width (a multiple of 4)")
    args = ap.parse_args(argv)
    minicnn.set_backend("numpy")
    dtype = np.dtype(args.dtype)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    torch.manual_seed(0)
    theirs = torch_net(args.size).to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = minicnn_net(args.size).astype(dtype)
    print("PyTorch keys:", list(theirs.state_dict()))
    print("minicnn keys:", list(ours.state_dict()))
    # .copy(): minicnn's parameters get memory of their own, independent of PyTorch's tensors.
    ours.load_state_dict({k: v.numpy().copy() for k, v in theirs.state_dict().items()})

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 1, args.size, args.size)).astype(dtype)
    targets = rng.integers(0, 10, args.batch)

    # PyTorch: build the graph, then walk it backwards.
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    t_logits = theirs(tx)
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.from_numpy(targets))
    t_loss.backward()

    # minicnn: forward, loss, then each backward by hand (Sequential.backward runs the layers in reverse).
    loss_fn = nn.CrossEntropyLoss()
    logits = ours(x)
    loss = loss_fn(logits, targets)
    dx = ours.backward(loss_fn.backward())

    checks = [("logits", diff(logits, t_logits)), ("loss", abs(loss - float(t_loss.detach()))),
              ("dx", diff(dx, tx.grad))]
    t_params = dict(theirs.named_parameters())
    checks += [(f"grad {name}", diff(p.grad, t_params[name].grad)) for name, p in ours.named_parameters()]

    # One SGD step on both sides; the parameters and the batch-norm running statistics must still agree.
    optim.SGD(ours.parameters(), lr=0.1, momentum=0.9).step()
    torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9).step()
    t_state = theirs.state_dict()
    checks += [(f"after one step: {k}", diff(v, t_state[k])) for k, v in ours.state_dict().items()
               if k.endswith(("weight", "bias", "running_mean", "running_var"))]

    worst = 0.0
    for name, err in checks:
        worst = max(worst, err)
        print(f"{name:36s} max |difference| = {err:.2e}")
    if worst > tol:
        print(f"MISMATCH: largest difference {worst:.2e} > {tol:g}")
        return 1
    print(f"PyTorch and minicnn agree ({args.dtype}, largest difference {worst:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
