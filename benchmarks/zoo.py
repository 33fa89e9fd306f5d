"""Write docs/zoo.md, the measured model-zoo table (never edit that page by hand).

    python -m benchmarks.zoo                          # every zoo model of the seed's list: about an hour on 2 cores
    python -m benchmarks.zoo --models resnet18,nin    # some rows (the others keep their last measured values)
    python -m benchmarks.zoo --no-train               # parameters, MACs and speed only

Per model:

* parameters and multiply-adds (MACs) at 3x224x224 (the standard form) beside the seed
  zoo's reported numbers, and at 1x28x28 (the small-input form Fashion-MNIST trains);
* training images/s at batch 64 on 1x28x28, minicnn on numba beside the same network in
  torch eager (the torch.nn twin from tests/torch_zoo.py, same weights), each engine in its
  own fresh process, twice, alternating (warm-up first, then the fastest of the timed steps
  of SGD with momentum: the figure least disturbed by other processes on a shared machine);
* test accuracy after one fixed short budget on the shared Fashion-MNIST subset, trained by
  ``python -m minicnn.train`` on numba. The learning rate is chosen among ``LRS`` by the
  mean validation accuracy over the models (the held-out tenth of the training images),
  never by the test split; the test accuracy of the chosen recipe is reported.

Measurements are kept in benchmarks/zoo_results.json, so that ``--models`` refreshes some rows.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "zoo.md"
RESULTS = pathlib.Path(__file__).with_name("zoo_results.json")
ENV = dict(os.environ)                       # as the user's shell had it, for the fresh processes

SHAPE = (1, 28, 28)
BATCH = 64
#: the budget every model trains with (Fashion-MNIST subset: 3,600 training images after the validation split)
BUDGET = {"epochs": 2, "batch-size": 64, "optimizer": "adam", "schedule": "onecycle", "seed": 0}
LRS = (1e-3, 3e-3)

#: why a count differs from the seed's, and what limits the speed where it is under half of torch's
NOTES = {
    "alexnet": "torchvision's AlexNet (64-192-384-256-256 channels, Krizhevsky's 2014 \"one weird trick\" widths), "
               "so torchvision weights load; the seed builds the 2012 paper's widths (96-256-384-384-256: "
               "58.32M parameters and 1.13G MACs, which its numbers match exactly), hence -2.2% parameters "
               "and -37% MACs.",
    "vgg11": "VGG-11 (configuration A) without batch norm, as the issue says; `vgg11_bn` adds 5,504 parameters.",
    "nin": "d2l.ai's NiN (96-256-384 channels, 11x11 stride-4 first block, one channel per class in the last "
           "block and global pooling): no Linear layer, so no head for --freeze-features.",
    "resnet50": "torchvision's ResNet-50 (V1.5: the stride on the 3x3), the CIFAR-10 tutorial's model; the seed's "
                "table has no row for it.",
    "resnext50_32x4d": "torchvision's ResNeXt-50 32x4d; the seed lists ResNeXt without numbers.",
    "darknet53": "Darknet-53 as YOLOv3's classifier (LeakyReLU 0.1), in the common PyTorch port's names "
                 "(conv1..conv6, residual_block1..5, fc); the seed gives only its MACs.",
    "mobilenet_v1": "MobileNetV1 at width 1.0; the seed's 0.582G also counts batch norm and ReLU, this table counts "
                    "convolutions and Linear layers only (0.569G).",
    "xception": "Xception in Cadene's/timm's legacy names (block1..block12, SeparableConv2d conv1 + pointwise); "
                "MACs at 224 (the paper uses 299).",
    "googlenet": "torchvision's GoogLeNet without the auxiliary classifiers `aux1`/`aux2` (they only train with "
                 "their own losses added to the main one), so torchvision's weights load. Its \"5x5\" branch "
                 "(`branch3`) has a 3x3 second convolution (pytorch/vision#906), hence -6.2% parameters and -5.8% "
                 "MACs: with the paper's 5x5 (`GoogLeNet(branch3_kernel=5)`) it has the seed's numbers, 5,991,082 "
                 "parameters (+0.2%) and 1.582G MACs (-0.5%). Convolutions start Kaiming-normal: with "
                 "torchvision's N(0, 0.01^2) every batch norm's input has a variance near 0.001, far below the "
                 "running variance's starting 1, and evaluation after a short run is at chance.",
    "inception_v3": "torchvision's Inception3 without `AuxLogits` (it only trains with its own loss added): "
                    "21,806,058 parameters for 10 classes, torchvision's 27,161,264 (1,000 classes, with the "
                    "auxiliary head) less the head's 3,326,696 and the 2,028,510 of 990 fewer classes; the seed "
                    "gives no count. The network's own size is 299x299 (5.71G MACs); 224x224 reaches `Mixed_7c` "
                    "at 5x5. The average-pooling branches count the padding, as torchvision's "
                    "`F.avg_pool2d(x, 3, 1, 1)` (TensorFlow's original does not).",
    "densenet40": "DenseNet-BC-40, growth rate 12 (the CIFAR paper's bottleneck and compression form: 6 layers "
                  "of a 1x1 and a 3x3 convolution per dense block, compression 0.5, 24 initial features), in "
                  "torchvision's `DenseNet` names (`features.denseblock1.denselayer1.norm1`, "
                  "`features.transition1`, `classifier`). It is the one with the seed's 0.18M: the plain "
                  "DenseNet-40 (12 single-3x3 layers per block, no compression) has 1.02M. 224x224 inputs get "
                  "torchvision's ImageNet stem (7x7 stride-2 `conv0`, `norm0`, max pooling): 179,050 parameters "
                  "(-0.5%); with the paper's 3x3 CIFAR stem it has 176,122.",
    "mobilenet_v2": "torchvision's MobileNetV2 at width 1.0. The seed's 0.318G is about this network's convolutions "
                    "and Linear layers (0.300G, this table's count) plus batch norm and ReLU6 at 2 and 1 operations "
                    "per element (0.319G).",
    "efficientnet_b0": "torchvision's EfficientNet-B0 without stochastic depth (no parameters or keys, and the "
                       "identity in eval mode: torchvision's weights load and predict alike); 0.385G MACs, which "
                       "the seed rounds to 0.4G.",
    "se_resnet18": "torchvision's ResNet-18 with the SE gate of the common SENet code (senet.pytorch's `se.fc.0`, "
                   "`se.fc.2`: bias-free Linear layers, reduction 16) after `bn2` of every BasicBlock: 87,040 "
                   "parameters more than ResNet-18, +0.3% over the seed's 11.23M (which fits a reduction of 32: "
                   "11,225,162).",
    "squeezenet1_1": "torchvision's SqueezeNet 1.1; the seed's 0.73M is its count with 10 classes (1.24M with "
                     "1,000). The classifier is a 1x1 convolution (512 channels to one per class, then ReLU and "
                     "global pooling): no Linear layer, so no head for --freeze-features.",
    "shufflenet_v2": "torchvision's ShuffleNetV2 x1.0 (0.144G MACs, the paper's 146M). The seed gives only 2.03G "
                     "MACs, 14 times as many: about what the same network costs at 224x224 with a CIFAR stem "
                     "(stride-1 `conv1`, no max pooling: 2.20G), so the seed's is likely a CIFAR port measured at "
                     "224.",
    "vit": "torchvision's VisionTransformer layout (`conv_proj`, `class_token`, `encoder.layers.encoder_layer_i`, "
           "`heads.head`) at the seed's configuration, lucidrains' vit-pytorch README's (patch 32, 6 layers of "
           "width 1024, 16 heads, MLP 2048). vit-pytorch's q/k/v projection has no bias (the seed's 53.59M); "
           "torchvision's `in_proj_bias` adds 3 x 1024 per layer: 53.61M. Small inputs: patch 4, an eighth of "
           "the width (128 features, 4 heads).",
    "mlp_mixer": "timm's MlpMixer names (`stem.proj`, `blocks.i.mlp_tokens`, `head`) at Mixer-S/16's widths (512 "
                 "features, token MLP 256, channel MLP 2048) with 6 blocks instead of 8: 13.62M, the seed's "
                 "13.63M (Mixer-S/16 itself has 18.02M with 10 classes). Small inputs: patch 4, a quarter of the "
                 "width.",
    "resmlp": "timm's ResMLP-S12 (12 blocks of 384 features, MLP ratio 4, layer scale 0.1; `blocks.i.norm1.alpha`, "
              "`linear_tokens`, `ls1`): 14.97M, the seed's. Small inputs: patch 4, a quarter of the width.",
}

#: the seed's CIFAR-10 settings for its two small CNNs, as commands for someone who has the data
SEED_CIFAR = [
    ("SimpleCNN", "61%", "python -m minicnn.train cifar10 --model simple_cnn --epochs 10 --batch-size 64 "
                         "--optimizer adam --lr 1e-3 --schedule none --crop-padding 0 --no-hflip --val-split 0.1"),
    ("CustomCNN", "83%", "python -m minicnn.train cifar10 --model custom_cnn --epochs 30 --batch-size 64 "
                         "--optimizer adam --lr 1e-3 --schedule none --crop-padding 0 --no-hflip --val-split 0.1"),
]


# ---- one engine's speed, in its own process -----------------------------------------------------------------

def _child_speed(engine: str, name: str, batch: int, steps: int, state_path: str) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *SHAPE)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    with np.load(state_path) as f:
        state = dict(f)
    if engine == "torch":
        import torch

        sys.path.insert(0, str(ROOT / "tests"))
        from torch_zoo import TWINS

        model = TWINS[name](SHAPE, 10)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def step() -> None:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt), yt).backward()
            opt.step()
    else:
        import minicnn
        from minicnn import backend, nn, optim
        from minicnn.models import build_model

        minicnn.set_backend(engine)
        model = build_model(name, SHAPE, 10)
        model.load_state_dict(state)
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss = nn.CrossEntropyLoss()
        xm, ym = backend.asarray(x), backend.asarray(y)

        def step() -> None:
            opt.zero_grad()
            loss.forward(model(xm), ym)
            model.backward(loss.backward())
            opt.step()
    step(), step()                                   # warm-up: Numba kernels, BLAS and torch allocations
    rates = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        rates.append(batch / (time.perf_counter() - start))
    print(json.dumps({"train": max(rates), "median": statistics.median(rates),
                      "profile": _profile(step) if engine != "torch" else []}))


def _profile(step: Any, steps: int = 2, top: int = 4) -> list[tuple[str, float]]:
    """The functions with the most self time over ``steps`` training steps, with their share of the total."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    stats = pstats.Stats(prof).stats                     # (file, line, function) -> (.., .., tottime, ..)
    total = sum(v[2] for v in stats.values())
    rows = sorted(((f"{pathlib.Path(k[0]).parent.name}/{pathlib.Path(k[0]).name}:{k[2]}", v[2])
                   for k, v in stats.items()), key=lambda kv: -kv[1])[:top]
    return [(name, t / total) for name, t in rows]


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def speeds(name: str, engines: tuple[str, ...] = ("numba", "torch"), steps: int = 5, rounds: int = 2,
           threads: int | None = None) -> dict:
    """Training images/s of ``name`` per engine: each engine in a fresh process from the same weights,
    ``rounds`` times alternating; the fastest step of all (the figure least disturbed by other processes
    on a shared machine). ``threads`` sets both engines' thread counts (default: as the shell has them)."""
    import numpy as np

    import minicnn
    from minicnn.models import build_model

    minicnn.manual_seed(0)
    state = build_model(name, SHAPE, 10).state_dict()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.npz")
        np.savez(path, **state)
        env = {**ENV, **({v: str(threads) for v in THREAD_VARS} if threads else {})}
        for r in range(rounds):
            for engine in engines[r % len(engines):] + engines[:r % len(engines)]:
                cmd = [sys.executable, "-m", "benchmarks.zoo", "--child", engine, name, "--steps", str(steps),
                       "--state", path]
                run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
                if run.returncode:
                    raise RuntimeError(f"{name} on {engine}: {run.stderr.strip()}")
                got = json.loads(run.stdout.strip().splitlines()[-1])
                out[engine] = max(out.get(engine, 0.0), got["train"])
                if got["profile"]:
                    out["profile"] = got["profile"]
    return out


# ---- accuracy after the budget -----------------------------------------------------------------------------

def train(name: str, lr: float, data_dir: str, limit_train: int | None = None) -> dict[str, Any]:
    """``python -m minicnn.train fashion_mnist`` with the budget and ``lr``; its final validation and test
    accuracy and seconds of training."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "minicnn.train", "fashion_mnist", "--model", name, "--lr", str(lr),
               "--backend", "numba", "--data-dir", data_dir, "--no-progress", "--no-download", "--out", tmp]
        cmd += [a for k, v in BUDGET.items() for a in (f"--{k}", str(v))]
        if limit_train:
            cmd += ["--limit-train", str(limit_train)]
        run = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
        if run.returncode:
            return {"error": (run.stderr.strip().splitlines() or ["exit status %d" % run.returncode])[-1]}
        metrics = json.loads(pathlib.Path(tmp, "metrics.json").read_text())
    return {"val_acc": metrics["history"][-1]["val_acc"], "test_acc": metrics["test_accuracy"],
            "seconds": metrics["train_seconds"]}


# ---- the page ----------------------------------------------------------------------------------------------

def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _threads(results: dict[str, Any]) -> str:
    used = {str(r.get("speed", {}).get("threads", "default")) for r in results["models"].values() if "speed" in r}
    return ", ".join(f"{t} thread{'s' if t != '1' else ''}" if t != "default" else "default threads"
                     for t in sorted(used)) or "default threads"


def _chosen_run(results: dict[str, Any], name: str) -> dict[str, Any]:
    """The accuracy run of ``name`` with the chosen learning rate ({} if it has none)."""
    return results["models"][name].get("accuracy", {}).get(str(results.get("chosen_lr")), {})


def _has_batch_norm(name: str) -> bool:
    from minicnn import nn
    from minicnn.models import build_model

    return any(isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)) for m in build_model(name, SHAPE, 10).modules())


def render(results: dict[str, Any], names: list[str]) -> str:
    """docs/zoo.md from the stored measurements."""
    from minicnn.models.reported import REPORTED
    from minicnn.summary import _dev, _g, _m

    lrs = results.get("lrs", {})
    chosen = results.get("chosen_lr")
    lines = ["# The model zoo", "",
             "<!-- Written by `python -m benchmarks.zoo` from benchmarks/zoo_results.json; do not edit by hand. -->",
             "", f"Measured {results.get('date', '-')} on {results.get('machine', '-')} "
                 f"(load average {results.get('load', '-')} before the run).", "",
             "From the table to a trained model in one command:", "", "```",
             "python -m minicnn.summary --all                              # this table's first columns",
             "python -m minicnn.train fashion_mnist --model resnet18        # any row; also mnist, cifar10, a folder",
             "python -m minicnn.summary resnet18 --input-shape 3,224,224   # one model, layer by layer", "```", "",
             "Parameters and MACs (multiply-adds of convolutions, Linear layers and attention, the unit the seed calls "
             "FLOPs) "
             "are for 10 classes. *Small* is the small-input form every 28x28 or 32x32 input gets (below). "
             "Speed: training images/s at batch 64 on 1x28x28, each engine in its own process "
             f"({_threads(results)}), same weights, the fastest step of two processes each. "
             f"Accuracy: Fashion-MNIST subset (3,600 training images, 1,000 test images) after "
             f"{BUDGET['epochs']} epochs, batch {BUDGET['batch-size']}, Adam with a one-cycle schedule, "
             f"lr {chosen if chosen else '-'} (chosen on the validation split, below), seed 0, numba.", "",
             "| model | params 224 (vs seed) | MACs 224 (vs seed) | params small | MACs 1x28x28 | "
             "train img/s numba / torch | ratio | Fashion-MNIST test acc | seed's acc |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        r = results["models"].get(name, {})
        seed = REPORTED.get(name)
        sp = r.get("speed", {})
        ratio = f"{sp['numba'] / sp['torch']:.2f}x" if sp.get("numba") and sp.get("torch") else "-"
        speed = f"{sp['numba']:.0f} / {sp['torch']:.0f}" if sp.get("numba") and sp.get("torch") else "-"
        run = _chosen_run(results, name)
        acc = _pct(run["test_acc"]) if "test_acc" in run else ("fails (below)" if "error" in run else "-")
        p224, m224 = r.get("params_224"), r.get("macs_224")
        lines.append(f"| {name} | {_m(p224)}{_dev(p224, seed and seed.params) if p224 else ''} | "
                     f"{_g(m224)}{_dev(m224, seed and seed.macs) if m224 else ''} | {_m(r.get('params_small'))} | "
                     f"{_m(r.get('macs_small'))} | {speed} | {ratio} | {acc} | "
                     f"{_pct(seed.accuracy) if seed and seed.accuracy else '-'} |")
    lines += ["", "The seed's accuracies come from its own runs (other data, 224x224 inputs, its own budget); they "
                  "are not comparable with this column, which measures a 2-epoch budget on a 3,600-image subset. "
                  "Where the seed's table gives no accuracy the cell is `-`.", ""]
    low = [n for n in names if _chosen_run(results, n).get("test_acc", 1) < 0.4]
    if low:
        lines += ["Below 40% after the budget: " + ", ".join(
            f"{n}{'' if _has_batch_norm(n) else ' (no batch norm)'}" for n in low) + ". One recipe for every "
            "model is the point of this column, not the best each model can do; the networks without batch norm "
            "are the ones it suits least.", ""]
    lines += ["## Choosing the learning rate on the validation split", "",
              f"The models {', '.join(results.get('selected_on', []))} train once per candidate; the recipe is "
              "the candidate with the best mean validation accuracy over them, and the other models train with "
              "the chosen recipe only. The test split is only read for the chosen recipe's column above.", "",
              "| lr | mean validation accuracy |", "|---|---|"]
    for lr, acc in sorted(lrs.items(), key=lambda kv: float(kv[0])):
        lines.append(f"| {lr}{' (chosen)' if str(lr) == str(chosen) else ''} | {_pct(acc)} |")
    failed = [(n, _chosen_run(results, n)["error"]) for n in names if "error" in _chosen_run(results, n)]
    if failed:
        lines += ["", "Training runs that failed (the last line the run printed):", ""]
        lines += [f"- **{n}**: `{err}`" for n, err in failed]
    lines += ["", "## Where the numbers differ from the seed's", ""]
    lines += [f"- **{n}**: {NOTES[n]}" for n in names if n in NOTES]
    lines += ["", "## Small-input forms", "",
              "An input with a side below 64 pixels (`minicnn.models.blocks.is_small`) builds each network's "
              "small-input form; the names and the layer sequence stay those of the standard form:", "",
              "- ResNet-18/50, ResNeXt-50: the CIFAR stem (3x3 stride-1 `conv1`, no max pooling), a quarter of "
              "the width (16-32-64-128 planes);",
              "- AlexNet: a 5x5 stride-1 first convolution, a quarter of the channels, 2x2 pooled features, "
              "512-wide hidden Linear layers;",
              "- VGG-11: a quarter of the channels, four max poolings instead of five, 1x1 pooled features, "
              "256-wide hidden Linear layers;",
              "- NiN: a 5x5 stride-1 first block and a quarter of the channels;",
              "- Darknet-53: `conv2` at stride 1 and a quarter of the width;",
              "- MobileNetV1: a stride-1 stem and half the width;",
              "- GoogLeNet: a 3x3 stride-1 `conv1`, no `maxpool1` (the inception blocks at 16, 8 and 4 pixels "
              "for 32x32) and a quarter of the width;",
              "- Inception-v3: stride-1, padding-1 stem convolutions, no `maxpool1` (`Mixed_5b` at 15x15 and "
              "`Mixed_7c` at 3x3 for 32x32; 13x13 and 2x2 for 28x28) and a quarter of the width;",
              "- DenseNet-BC-40: the paper's CIFAR stem (one 3x3 stride-1 `conv0`), full width (0.18M "
              "parameters);",
              "- MobileNetV2, EfficientNet-B0: a stride-1 stem and the second stage (24 channels) at stride 1, as "
              "the common CIFAR port of MobileNetV2 (the last stage at 4x4), and half the width;",
              "- SE-ResNet-18: ResNet-18's form (its gates squeeze to 1, 2, 4 and 8 channels);",
              "- SqueezeNet 1.1: a stride-1, padding-1 first convolution (the last Fire modules at 4x4 for 32x32, "
              "3x3 for 28x28) and the full width (0.73M parameters);",
              "- ShuffleNetV2: a stride-1 `conv1` and no max pooling (`stage4` at 4x4), torchvision's x0.5 widths "
              "(24-48-96-192-1024);",
              "- Xception: `conv1`/`conv2` at stride 1 with padding 1 and a quarter of the width;",
              "- ViT, MLP-Mixer, ResMLP: 4x4 patches (49 tokens for 28x28, 64 for 32x32), ViT at an eighth of the "
              "width, the Mixers at a quarter.", "",
              "## Speed", "",
              "The target is at least half of torch's training speed. For the models under it, the functions "
              "with the most self time in a profile of minicnn's training step (cProfile over two steps, same "
              "process; `functional/conv.py:conv2d_backward` is the convolution's GEMMs, `numba_cpu/conv.py` "
              "holds im2col and col2im):", ""]
    slow = [n for n in names if (sp := results["models"][n].get("speed", {})).get("numba")
            and sp.get("torch") and sp["numba"] < 0.5 * sp["torch"]]
    lines += [f"- **{n}**: " + ", ".join(f"`{f}` {100 * share:.0f}%" for f, share in
                                          results["models"][n]["speed"].get("profile", []))
              for n in slow] or ["- none"]
    lines += ["",
              "## The seed's CIFAR-10 runs", "",
              "CIFAR-10 cannot be downloaded on the measuring machine. With the data in `$MINICNN_DATA/cifar10` "
              "these commands train the seed's two CIFAR-10 networks with its setting:", "", "```"]
    lines += [f"{cmd}    # seed: {name} {acc}" for name, acc, cmd in SEED_CIFAR]
    lines += ["```"]
    return "\n".join(lines) + "\n"


def _machine(cpu: str) -> str:
    import numba
    import numpy
    import torch

    return (f"{cpu}, {os.cpu_count()} cores; Python {sys.version.split()[0]}, NumPy {numpy.__version__}, "
            f"Numba {numba.__version__}, torch {torch.__version__}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.zoo", description=__doc__.split("\n")[0])
    parser.add_argument("--models", help="comma-separated zoo names (default: every model with a small-input form)")
    parser.add_argument("--no-train", action="store_true", help="skip the accuracy runs")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed runs")
    parser.add_argument("--lrs", default=",".join(map(str, LRS)),
                        help="learning rates to train (default: every candidate; the recipe is chosen over the "
                             "models trained with all of them)")
    parser.add_argument("--threads", type=int, help="threads of both engines in the speed runs (default: as the "
                                                     "shell has them; 1 gives fair figures on a shared machine)")
    parser.add_argument("--render-only", action="store_true", help="rewrite the page from the stored measurements")
    parser.add_argument("--limit-train", type=int, help="train on fewer images (for trying the script out)")
    parser.add_argument("--data-dir", default=os.environ.get("MINICNN_DATA") or str(ROOT.parent / "shared/datasets"))
    parser.add_argument("--out", default=str(PAGE), help="page to write (default docs/zoo.md)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child_speed(args.child[0], args.child[1], BATCH, args.steps, args.state)
        return 0

    from benchmarks.common import cpu_model
    from minicnn.models import SMALL_FORMS
    from minicnn.summary import FULL_SHAPE, zoo_rows

    names = args.models.split(",") if args.models else list(SMALL_FORMS)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"models": {}}
    if args.render_only:
        names = []
    else:
        results.update(date=datetime.date.today().isoformat(),
                       load=" ".join(f"{v:.1f}" for v in os.getloadavg()), machine=_machine(cpu_model()))
    for name in names:
        row = zoo_rows([name], 10, (FULL_SHAPE, SHAPE))[0]
        r = results["models"].setdefault(name, {})
        r.update(params_224=row.params[FULL_SHAPE], macs_224=row.macs[FULL_SHAPE], params_small=row.params[SHAPE],
                 macs_small=row.macs[SHAPE])
        if not args.no_speed:
            r["speed"] = speeds(name, threads=args.threads)
            r["speed"]["threads"] = args.threads or "default"
        if not args.no_train:
            r.setdefault("accuracy", {}).update({str(float(lr)): train(name, float(lr), args.data_dir, args.limit_train)
                                                 for lr in args.lrs.split(",")})
        print(name, json.dumps(r), flush=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    trained = [n for n in SMALL_FORMS if all("val_acc" in results["models"].get(n, {}).get("accuracy", {})
                                             .get(str(lr), {}) for lr in LRS)]
    if trained:
        results["selected_on"] = trained
        results["lrs"] = {str(lr): statistics.mean(results["models"][n]["accuracy"][str(lr)]["val_acc"]
                                                   for n in trained) for lr in LRS}
        results["chosen_lr"] = max(results["lrs"], key=results["lrs"].get)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    pathlib.Path(args.out).write_text(render(results, [n for n in SMALL_FORMS if n in results["models"]]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
