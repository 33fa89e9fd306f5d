#!/usr/bin/env bash
# The check a session runs first when the device tool lends it a GPU machine (CONTRIBUTING.md, "On a GPU").
# That machine has CuPy, torch, Numba, pytest and hypothesis but reaches no package registry, so this
# installs minicnn without dependencies, records the device, runs every cupy test (pytest -m gpu, the dev
# hypothesis profile) and then the GPU benchmark, each under its own time limit, and leaves every log and
# the regenerated RESULTS.md in $OUT (default: gpu-logs/).
#
#   bash benchmarks/gpu_check.sh [pytest limit in s, default 330] [benchmark limit in s, default 200]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-logs}"
mkdir -p "$out"
pip install --no-deps -q -e . > "$out/install.log" 2>&1
echo "pip install exit $?" >> "$out/install.log"
{
    nvidia-smi
    python -c "import cupy; print('cupy', cupy.__version__, 'devices', cupy.cuda.runtime.getDeviceCount())"
} > "$out/device.txt" 2>&1
HYPOTHESIS_PROFILE=dev timeout "${1:-330}" python -m pytest -m gpu -q -p no:cacheprovider --durations=10 \
    > "$out/pytest.log" 2>&1
echo "pytest exit $?" >> "$out/pytest.log"
timeout "${2:-200}" python -m benchmarks.report --gpu --repeats 3 > "$out/report.log" 2>&1
echo "report exit $?" >> "$out/report.log"
cp benchmarks/RESULTS.md "$out/RESULTS.md"
tail -n 4 "$out/device.txt" "$out/pytest.log" "$out/report.log"
