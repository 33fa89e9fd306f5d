// What every kernel source here shares; each .cu starts with #include "common.cuh".
// raw_kernel splices this text in place of that line before NVRTC sees the source (so
// CuPy's on-disk cache, keyed by the source text, also sees any change made here).
//
// Each source is compiled once per dtype with -Dscalar_t=float or -Dscalar_t=double;
// block sizes a kernel depends on come from the Python wrapper as -D options too.
// All index arithmetic is 64-bit (idx_t), so offsets do not overflow on large tensors.
#ifndef MINICNN_COMMON_CUH
#define MINICNN_COMMON_CUH

#ifndef scalar_t
#error "compile with -Dscalar_t=float or -Dscalar_t=double"
#endif

typedef long long idx_t;

// for (i = this thread's first index; i < total; i += every thread of the grid)
#define GRID_STRIDE_LOOP(i, total) \
    for (idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; i < (total); \
         i += (idx_t)blockDim.x * gridDim.x)

__device__ __forceinline__ idx_t imin(idx_t a, idx_t b) { return a < b ? a : b; }
__device__ __forceinline__ idx_t imax(idx_t a, idx_t b) { return a > b ? a : b; }

#endif
