"""A host-only stand-in for the parts of CuPy that kernels/cupy_cuda uses, to run its wrappers
and CUDA sources on a machine without a GPU.

Arrays are NumPy arrays. ``RawModule`` compiles the .cu text with g++ behind a small CUDA
shim: every block's threads are real ``std::thread``s sharing a ``std::barrier``, so
``__syncthreads`` and ``__shared__`` memory behave as on a GPU (blocks run one after
another). ``ElementwiseKernel`` compiles its C operation once per dtype. Every launch
checks what a GPU would not: pointer arguments C-contiguous and of the kernel's dtype,
integer arguments int64, double arguments float64, the argument count.

This emulates the CUDA code; it does not replace running the cupy test suite on a GPU.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import types

import numpy as np

BUILD = os.environ.get("MINICNN_CUDA_EMULATOR_BUILD", os.path.join(tempfile.gettempdir(), "minicnn-cuda-emulator"))
KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')

SHIM = r'''
#include <cmath>
#include <thread>
#include <barrier>
#include <vector>
using namespace std;
struct dim3_ { long long x; };
thread_local dim3_ threadIdx{0}, blockIdx{0}, blockDim{1}, gridDim{1};
static std::barrier<>* g_bar;
inline void __syncthreads() { g_bar->arrive_and_wait(); }
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
'''

def _compile(text: str, tag: str) -> ctypes.CDLL:
    """The shared library built from C++ ``text`` (cached in BUILD by content hash)."""
    os.makedirs(BUILD, exist_ok=True)
    h = hashlib.sha1(text.encode()).hexdigest()[:16]
    so = os.path.join(BUILD, f"{tag}_{h}.so")
    if not os.path.exists(so):
        src = so[:-3] + ".cpp"
        with open(src, "w") as f:
            f.write(text)
        r = subprocess.run(["g++", "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-Wno-unused-result", src, "-o", so],
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(r.stderr[-4000:])
    return ctypes.CDLL(so)


class RawKernel:
    """One ``extern "C" __global__`` function of a compiled module, launched as ``kernel(grid, block, args)``."""

    def __init__(self, lib, name, params, ctype):
        self.fn = getattr(lib, "emu_" + name)
        self.name, self.params, self.ctype = name, params, ctype
        kinds = []
        for p in params:
            words = p.replace("*", " * ").split()
            kinds.append("pointer:" + words[words.index("*") - 1] if "*" in words else words[0])
        self.kinds = kinds
        self.fn.argtypes = [ctypes.c_longlong, ctypes.c_longlong] + [
            ctypes.c_void_p if k.startswith("pointer") else ctypes.c_double if k == "double" else ctypes.c_longlong
            for k in kinds]

    def __call__(self, grid, block, args):
        assert len(args) == len(self.kinds), (self.name, len(args), len(self.kinds))
        want_dtype = {"scalar_t": np.dtype(self.ctype), "idx_t": np.dtype(np.int64), "double": np.dtype(np.float64)}
        conv = []
        for a, k, p in zip(args, self.kinds, self.params):
            if k.startswith("pointer"):
                assert isinstance(a, np.ndarray), (self.name, p, type(a))
                assert a.flags.c_contiguous, (self.name, p, "not contiguous")
                assert a.dtype == want_dtype[k.split(":")[1]], (self.name, p, a.dtype)
                conv.append(a.ctypes.data)
            elif k == "double":
                assert type(a) is np.float64, (self.name, p, type(a))
                conv.append(float(a))
            else:
                assert type(a) is np.int64, (self.name, p, type(a))
                conv.append(int(a))
        assert len(grid) == 1 and len(block) == 1
        self.fn(int(grid[0]), int(block[0]), *conv)


class RawModule:
    """CUDA C source compiled for the CPU. ``options`` are ``-DNAME=value`` macros (NVRTC's only
    other input here), which must define ``scalar_t``; like NVRTC given no ``-I``, the code cannot
    include a header of its own (g++ compiles it from the build folder, where none lies)."""

    def __init__(self, code, options=()):
        assert all(o.startswith("-D") and "=" in o for o in options), options
        defines = dict(o[2:].split("=", 1) for o in options)
        self.ctype = {"float": np.float32, "double": np.float64}[defines["scalar_t"]]
        self.kernels = KERNEL.findall(code)
        wrappers = []
        for name, params in self.kernels:
            plist = [p.strip() for p in params.split(",")]
            names = [re.split(r"[\s*]+", p)[-1] for p in plist]
            wrappers.append(f'''
extern "C" void emu_{name}(long long grid, long long block, {", ".join(plist)}) {{
    std::barrier<> bar(block);
    g_bar = &bar;
    for (long long b = 0; b < grid; ++b) {{
        std::vector<std::thread> ts;
        for (long long t = 0; t < block; ++t)
            ts.emplace_back([&, b, t] {{ blockIdx.x = b; threadIdx.x = t; blockDim.x = block; gridDim.x = grid;
                                         {name}({", ".join(names)}); }});
        for (auto& th : ts) th.join();
    }}
}}''')
        text = SHIM + "".join(f"#define {k} {v}\n" for k, v in defines.items()) + code + "\n".join(wrappers)
        self.lib = _compile(text, "raw")
        self.params = {n: [p.strip() for p in ps.split(",")] for n, ps in self.kernels}

    def get_function(self, name):
        return RawKernel(self.lib, name, self.params[name], self.ctype)


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``: the C ``operation`` applied elementwise, inputs broadcast."""

    def __init__(self, in_params, out_params, operation, name, preamble=""):
        self.ins = [p.split()[1] for p in in_params.split(",")]
        self.outs = [p.split()[1] for p in out_params.split(",")]
        self.op, self.name, self.preamble, self.cache = operation, name, preamble, {}

    def __call__(self, *args):
        assert len(args) == len(self.ins)
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        dtype = arrays[0].dtype
        assert all(a.dtype == dtype for a in arrays), (self.name, [a.dtype for a in arrays])
        for a in args:
            if not isinstance(a, np.ndarray):
                assert type(a) is dtype.type, (self.name, type(a), dtype)
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
        pattern = tuple(isinstance(a, np.ndarray) for a in args)
        key = (dtype.str, pattern)
        if key not in self.cache:
            ct = {"<f4": "float", "<f8": "double"}[dtype.str]
            params = ["long long n"] + [f"const T* {n}_p" if arr else f"T {n}_v" for n, arr in zip(self.ins, pattern)] \
                + [f"T* {n}_p" for n in self.outs]
            loads = " ".join(f"const T {n} = {n}_p[i];" if arr else f"const T {n} = {n}_v;" for n, arr in zip(self.ins, pattern))
            refs = " ".join(f"T& {n} = {n}_p[i];" for n in self.outs)
            text = (f"#include <cmath>\nusing namespace std;\n#define __device__\n{self.preamble}\ntypedef {ct} T;\n"
                    f'extern "C" void ew({", ".join(params)}) {{ for (long long i = 0; i < n; ++i) {{ {loads} {refs} {self.op}; }} }}\n')
            lib = _compile(text, "ew")
            fn = lib.ew
            fn.argtypes = [ctypes.c_longlong] + [ctypes.c_void_p if arr else (ctypes.c_float if ct == "float" else ctypes.c_double)
                                                 for arr in pattern] + [ctypes.c_void_p] * len(self.outs)
            self.cache[key] = fn
        fn = self.cache[key]
        ins = [np.ascontiguousarray(np.broadcast_to(a, shape)) if isinstance(a, np.ndarray) else a for a in args]
        outs = [np.empty(shape, dtype) for _ in self.outs]
        fn(int(np.prod(shape)), *[a.ctypes.data if isinstance(a, np.ndarray) else a.item() for a in ins],
           *[o.ctypes.data for o in outs])
        return outs[0] if len(outs) == 1 else tuple(outs)


def install() -> types.ModuleType:
    """Register this stand-in as the ``cupy`` module (only ever in a process of its own)."""
    cp = types.ModuleType("cupy")
    cp.ndarray = np.ndarray
    for n in ("ascontiguousarray", "empty", "zeros", "empty_like", "matmul", "int64", "float64", "float32", "nan"):
        setattr(cp, n, getattr(np, n))
    cp.asarray = np.asarray
    cp.RawModule = RawModule
    cp.ElementwiseKernel = ElementwiseKernel
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0, getDeviceCount=lambda: 1))
    sys.modules["cupy"] = cp
    return cp
