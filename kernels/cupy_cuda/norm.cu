// Batch normalisation over x (N, C, L), training mode.
//
// M = N L values per channel; mu the mean, var the biased variance,
// s = 1 / sqrt(var + eps), xhat = (x - mu) s, y = gamma xhat + beta;
// backward dx = gamma s / M (M dy - dbeta - xhat dgamma), dbeta = sum dy,
// dgamma = sum dy xhat. Element (n, c, l) sits at (n C + c) L + l.
//
// The *_stats kernels run one block of BN_THREADS threads per channel (norm.py
// passes -DBN_THREADS and launches that many) and reduce in double (two passes
// for the variance: mean first, then the squared deviations); the elementwise
// kernels then use one thread per element.
#include "common.cuh"

#ifndef BN_THREADS
#error "compile with -DBN_THREADS=<threads per block of the *_stats kernels>"
#endif
static_assert((BN_THREADS & (BN_THREADS - 1)) == 0, "block_sum halves BN_THREADS: it must be a power of two");

// Sum of v over the block (blockDim.x == BN_THREADS); every thread gets the total.
__device__ double block_sum(double v, double* buf)
{
    buf[threadIdx.x] = v;
    __syncthreads();
    for (int half = BN_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
        __syncthreads();
    }
    const double total = buf[0];
    __syncthreads();
    return total;
}

// Thread t of a block visits the values k = t, t + BN_THREADS, ... of its channel,
// k = n L + l at (n C + c) L + l, stepping (n, l) without a division per value.
#define CHANNEL_LOOP(at, n, c, l, ch)                                                                          \
    for (idx_t batch_ = threadIdx.x / (l), pos_ = threadIdx.x % (l), at = (batch_ * (c) + (ch)) * (l) + pos_;  \
         batch_ < (n);                                                                                         \
         pos_ += BN_THREADS % (l), batch_ += BN_THREADS / (l) + (pos_ >= (l) ? 1 : 0),                         \
         pos_ -= (pos_ >= (l) ? (l) : 0), at = (batch_ * (c) + (ch)) * (l) + pos_)

// Block c: mean[c], var[c], inv_std[c].
extern "C" __global__ void batch_norm_stats(const scalar_t* __restrict__ x, double eps,
                                            scalar_t* __restrict__ mean, scalar_t* __restrict__ var,
                                            scalar_t* __restrict__ inv_std, idx_t n, idx_t c, idx_t l)
{
    __shared__ double buf[BN_THREADS];
    const idx_t ch = blockIdx.x;
    const double m = (double)(n * l);
    double part = 0.0;
    CHANNEL_LOOP(at, n, c, l, ch) part += (double)x[at];
    const double mu = block_sum(part, buf) / m;
    part = 0.0;
    CHANNEL_LOOP(at, n, c, l, ch) {
        const double d = (double)x[at] - mu;
        part += d * d;
    }
    const double v = block_sum(part, buf) / m;
    if (threadIdx.x == 0) {
        mean[ch] = (scalar_t)mu;
        var[ch] = (scalar_t)v;
        inv_std[ch] = (scalar_t)(1.0 / sqrt(v + eps));
    }
}

// y = (x - mean[c]) inv_std[c] gamma[c] + beta[c]
extern "C" __global__ void batch_norm_apply(const scalar_t* __restrict__ x, const scalar_t* __restrict__ mean,
                                            const scalar_t* __restrict__ inv_std, const scalar_t* __restrict__ gamma,
                                            const scalar_t* __restrict__ beta, scalar_t* __restrict__ y,
                                            idx_t n, idx_t c, idx_t l)
{
    GRID_STRIDE_LOOP(e, n * c * l) {
        const idx_t ch = (e / l) % c;
        y[e] = (x[e] - mean[ch]) * (inv_std[ch] * gamma[ch]) + beta[ch];
    }
}

// Block c: dbeta[c] = sum dy, dgamma[c] = sum dy xhat.
extern "C" __global__ void batch_norm_backward_stats(const scalar_t* __restrict__ dy, const scalar_t* __restrict__ x,
                                                     const scalar_t* __restrict__ mean,
                                                     const scalar_t* __restrict__ inv_std,
                                                     scalar_t* __restrict__ dgamma, scalar_t* __restrict__ dbeta,
                                                     idx_t n, idx_t c, idx_t l)
{
    __shared__ double buf[BN_THREADS];
    const idx_t ch = blockIdx.x;
    const double mu = (double)mean[ch], s = (double)inv_std[ch];
    double part_dy = 0.0, part_dy_xhat = 0.0;
    CHANNEL_LOOP(at, n, c, l, ch) {
        const double g = (double)dy[at];
        part_dy += g;
        part_dy_xhat += g * (((double)x[at] - mu) * s);
    }
    const double sum_dy = block_sum(part_dy, buf);
    const double sum_dy_xhat = block_sum(part_dy_xhat, buf);
    if (threadIdx.x == 0) {
        dbeta[ch] = (scalar_t)sum_dy;
        dgamma[ch] = (scalar_t)sum_dy_xhat;
    }
}

// dx = gamma s / M (M dy - dbeta - xhat dgamma)
extern "C" __global__ void batch_norm_backward_apply(const scalar_t* __restrict__ dy, const scalar_t* __restrict__ x,
                                                     const scalar_t* __restrict__ mean,
                                                     const scalar_t* __restrict__ inv_std,
                                                     const scalar_t* __restrict__ gamma,
                                                     const scalar_t* __restrict__ dgamma,
                                                     const scalar_t* __restrict__ dbeta,
                                                     scalar_t* __restrict__ dx, idx_t n, idx_t c, idx_t l)
{
    const scalar_t m = (scalar_t)(n * l);
    GRID_STRIDE_LOOP(e, n * c * l) {
        const idx_t ch = (e / l) % c;
        const scalar_t xhat = (x[e] - mean[ch]) * inv_std[ch];
        dx[e] = gamma[ch] * inv_std[ch] / m * (m * dy[e] - dbeta[ch] - xhat * dgamma[ch]);
    }
}
