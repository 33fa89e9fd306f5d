// Normalisation: batch norm over x (N, C, L) in training mode, layer norm over the rows of x (R, D),
// local response norm over the channels of x (N, C, L).
//
// Batch norm: M = N L values per channel; mu the mean, var the biased variance,
// s = 1 / sqrt(var + eps), xhat = (x - mu) s, y = gamma xhat + beta;
// backward dx = gamma s / M (M dy - dbeta - xhat dgamma), dbeta = sum dy,
// dgamma = sum dy xhat. Element (n, c, l) sits at (n C + c) L + l.
//
// The *_stats kernels run one block of NORM_THREADS threads per channel (norm.py
// passes -DNORM_THREADS and launches that many) and reduce in double (two passes
// for the variance: mean first, then the squared deviations); the elementwise
// kernels then use one thread per element. The layer-norm row kernels run one
// block of NORM_THREADS threads per row, reducing the same way.
#include "common.cuh"

#ifndef NORM_THREADS
#error "compile with -DNORM_THREADS=<threads per block of the block-reduction kernels>"
#endif
static_assert((NORM_THREADS & (NORM_THREADS - 1)) == 0, "block_sum halves NORM_THREADS: it must be a power of two");

// Sum of v over the block (blockDim.x == NORM_THREADS); every thread gets the total.
__device__ double block_sum(double v, double* buf)
{
    buf[threadIdx.x] = v;
    __syncthreads();
    for (int half = NORM_THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) buf[threadIdx.x] += buf[threadIdx.x + half];
        __syncthreads();
    }
    const double total = buf[0];
    __syncthreads();
    return total;
}

// Thread t of a block visits the values k = t, t + NORM_THREADS, ... of its channel,
// k = n L + l at (n C + c) L + l, stepping (n, l) without a division per value.
#define CHANNEL_LOOP(at, n, c, l, ch)                                                                          \
    for (idx_t batch_ = threadIdx.x / (l), pos_ = threadIdx.x % (l), at = (batch_ * (c) + (ch)) * (l) + pos_;  \
         batch_ < (n);                                                                                         \
         pos_ += NORM_THREADS % (l), batch_ += NORM_THREADS / (l) + (pos_ >= (l) ? 1 : 0),                     \
         pos_ -= (pos_ >= (l) ? (l) : 0), at = (batch_ * (c) + (ch)) * (l) + pos_)

// Block c: mean[c], var[c], inv_std[c].
extern "C" __global__ void batch_norm_stats(const scalar_t* __restrict__ x, double eps,
                                            scalar_t* __restrict__ mean, scalar_t* __restrict__ var,
                                            scalar_t* __restrict__ inv_std, idx_t n, idx_t c, idx_t l)
{
    __shared__ double buf[NORM_THREADS];
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
    __shared__ double buf[NORM_THREADS];
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

// ---- layer norm: x (R, D), statistics of each row; element (r, i) at r D + i ----------------------------

// Block r: the corrected two-pass statistics (mu0 the plain mean, dev = x - mu0:
// mu = mu0 + sum dev / D, var = (sum dev^2 - (sum dev)^2 / D) / D), s = 1 / sqrt(var + eps),
// y = (x - mu) s gamma + beta.
extern "C" __global__ void layer_norm_forward(const scalar_t* __restrict__ x, const scalar_t* __restrict__ gamma,
                                              const scalar_t* __restrict__ beta, double eps, scalar_t* __restrict__ y,
                                              scalar_t* __restrict__ mean, scalar_t* __restrict__ inv_std, idx_t d)
{
    __shared__ double buf[NORM_THREADS];
    const idx_t row = (idx_t)blockIdx.x * d;
    double part = 0.0;
    for (idx_t i = threadIdx.x; i < d; i += NORM_THREADS) part += (double)x[row + i];
    const double mu0 = block_sum(part, buf) / (double)d;
    double part_dev = 0.0, part_sq = 0.0;
    for (idx_t i = threadIdx.x; i < d; i += NORM_THREADS) {
        const double e = (double)x[row + i] - mu0;
        part_dev += e;
        part_sq += e * e;
    }
    const double dev = block_sum(part_dev, buf), sq = block_sum(part_sq, buf);
    const double mu = mu0 + dev / (double)d;
    const double s = 1.0 / sqrt(fmax(sq - dev * dev / (double)d, 0.0) / (double)d + eps);
    for (idx_t i = threadIdx.x; i < d; i += NORM_THREADS)
        y[row + i] = (scalar_t)(((double)x[row + i] - mu) * s * (double)gamma[i] + (double)beta[i]);
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = (scalar_t)mu;
        inv_std[blockIdx.x] = (scalar_t)s;
    }
}

// Block r: dx = s / D (D g - sum g - xhat sum(g xhat)), g = gamma dy, xhat = (x - mu) s.
extern "C" __global__ void layer_norm_backward_rows(const scalar_t* __restrict__ dy, const scalar_t* __restrict__ x,
                                                    const scalar_t* __restrict__ mean,
                                                    const scalar_t* __restrict__ inv_std,
                                                    const scalar_t* __restrict__ gamma, scalar_t* __restrict__ dx,
                                                    idx_t d)
{
    __shared__ double buf[NORM_THREADS];
    const idx_t row = (idx_t)blockIdx.x * d;
    const double mu = (double)mean[blockIdx.x], s = (double)inv_std[blockIdx.x];
    double part_g = 0.0, part_gx = 0.0;
    for (idx_t i = threadIdx.x; i < d; i += NORM_THREADS) {
        const double g = (double)gamma[i] * (double)dy[row + i];
        part_g += g;
        part_gx += g * (((double)x[row + i] - mu) * s);
    }
    const double sum_g = block_sum(part_g, buf), sum_gx = block_sum(part_gx, buf);
    for (idx_t i = threadIdx.x; i < d; i += NORM_THREADS) {
        const double xhat = ((double)x[row + i] - mu) * s;
        dx[row + i] = (scalar_t)(s / (double)d * ((double)d * ((double)gamma[i] * (double)dy[row + i]) - sum_g
                                                  - xhat * sum_gx));
    }
}

// Block b covers chunk b / B of chunk_rows rows and columns (b % B) NORM_THREADS + t, B = ceil(D / NORM_THREADS):
// partial[chunk][0][i] = sum dy xhat, partial[chunk][1][i] = sum dy over the chunk's rows, in double.
extern "C" __global__ void layer_norm_param_partials(const scalar_t* __restrict__ dy, const scalar_t* __restrict__ x,
                                                     const scalar_t* __restrict__ mean,
                                                     const scalar_t* __restrict__ inv_std,
                                                     double* __restrict__ partial, idx_t rows, idx_t d,
                                                     idx_t chunk_rows)
{
    const idx_t col_blocks = (d + NORM_THREADS - 1) / NORM_THREADS;
    const idx_t chunk = blockIdx.x / col_blocks, i = (blockIdx.x % col_blocks) * NORM_THREADS + threadIdx.x;
    if (i >= d) return;
    double g = 0.0, b = 0.0;
    for (idx_t r = chunk * chunk_rows; r < imin(rows, (chunk + 1) * chunk_rows); ++r) {
        const double e = (double)dy[r * d + i];
        g += e * (((double)x[r * d + i] - (double)mean[r]) * (double)inv_std[r]);
        b += e;
    }
    partial[2 * chunk * d + i] = g;
    partial[(2 * chunk + 1) * d + i] = b;
}

// dgamma[i], dbeta[i]: the chunks' partial sums added in chunk order.
extern "C" __global__ void layer_norm_param_grads(const double* __restrict__ partial, scalar_t* __restrict__ dgamma,
                                                  scalar_t* __restrict__ dbeta, idx_t chunks, idx_t d)
{
    GRID_STRIDE_LOOP(i, d) {
        double g = 0.0, b = 0.0;
        for (idx_t chunk = 0; chunk < chunks; ++chunk) {
            g += partial[2 * chunk * d + i];
            b += partial[(2 * chunk + 1) * d + i];
        }
        dgamma[i] = (scalar_t)g;
        dbeta[i] = (scalar_t)b;
    }
}

// ---- local response norm: x (N, C, L), a window of `size` channels; one thread per element ------------

// div = k + alpha / size * (sum of x^2 over channels c - size/2 .. c + (size-1)/2), y = x / div^beta.
extern "C" __global__ void local_response_norm_forward(const scalar_t* __restrict__ x, double alpha, double beta,
                                                       double k, scalar_t* __restrict__ y,
                                                       scalar_t* __restrict__ div, idx_t n, idx_t c, idx_t l,
                                                       idx_t size)
{
    GRID_STRIDE_LOOP(e, n * c * l) {
        const idx_t ch = (e / l) % c, first = e - ch * l;
        scalar_t sum = 0;
        for (idx_t j = imax(ch - size / 2, 0); j < imin(ch + (size - 1) / 2 + 1, c); ++j)
            sum += x[first + j * l] * x[first + j * l];
        const scalar_t v = (scalar_t)k + (scalar_t)alpha * (sum / (scalar_t)size);
        div[e] = v;
        y[e] = x[e] / pow(v, (scalar_t)beta);
    }
}

// scale = div^beta, terms = t = dy x / (scale div).
extern "C" __global__ void local_response_norm_backward_terms(const scalar_t* __restrict__ dy,
                                                              const scalar_t* __restrict__ x,
                                                              const scalar_t* __restrict__ div, double beta,
                                                              scalar_t* __restrict__ terms,
                                                              scalar_t* __restrict__ scale,
                                                              idx_t total)
{
    GRID_STRIDE_LOOP(e, total) {
        const scalar_t sc = pow(div[e], (scalar_t)beta);
        scale[e] = sc;
        terms[e] = dy[e] * x[e] / (sc * div[e]);
    }
}

// dx (holding div^beta on entry) = dy / div^beta - coef x (sum of terms over channels c - (size-1)/2 .. c + size/2).
extern "C" __global__ void local_response_norm_backward(const scalar_t* __restrict__ dy,
                                                        const scalar_t* __restrict__ x,
                                                        const scalar_t* __restrict__ terms, double coef,
                                                        scalar_t* __restrict__ dx, idx_t n, idx_t c, idx_t l,
                                                        idx_t size)
{
    GRID_STRIDE_LOOP(e, n * c * l) {
        const idx_t ch = (e / l) % c, first = e - ch * l;
        scalar_t r = 0;
        for (idx_t j = imax(ch - (size - 1) / 2, 0); j < imin(ch + size / 2 + 1, c); ++j) r += terms[first + j * l];
        dx[e] = dy[e] / dx[e] - (scalar_t)coef * x[e] * r;
    }
}
