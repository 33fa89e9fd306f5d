// softmax, log_softmax and the fused softmax cross-entropy.
//
// The reduced axis (length K) splits the array into (A, K, B); line (a, b) is
// x[a, :, b], element k at (a K + k) B + b. One thread per line; along it, with
// m = max_k x_k,
//   softmax_k     = exp(x_k - m) / sum_j exp(x_j - m)
//   log_softmax_k = (x_k - m) - log sum_j exp(x_j - m)
// The line kernels compute log_softmax where take_log != 0, softmax elsewhere.
// Sums are accumulated in double; outputs keep scalar_t.
#include "common.cuh"

// Max along one line (stride `step` between its K entries); NaN if any entry is NaN.
__device__ __forceinline__ double line_max(const scalar_t* x, idx_t nk, idx_t step)
{
    double m = (double)x[0];
    for (idx_t k = 1; k < nk; ++k) {
        const double v = (double)x[k * step];
        if (v > m || v != v) m = v;
        if (m != m) break;
    }
    return m;
}

// y = softmax(x), or log_softmax(x) when take_log, along one line (stride `step` between
// its K entries); sums in double, rounded once on the store.
__device__ __forceinline__ void line_softmax(const scalar_t* x, scalar_t* y, idx_t nk, idx_t step, bool take_log)
{
    const double m = line_max(x, nk, step);
    double total = 0.0;
    for (idx_t k = 0; k < nk; ++k) total += exp((double)x[k * step] - m);
    const double lse = log(total);
    for (idx_t k = 0; k < nk; ++k) {
        const double z = (double)x[k * step] - m;
        y[k * step] = (scalar_t)(take_log ? z - lse : exp(z) / total);
    }
}

// First element of line (a, b) = (line / B, line % B) of an (A, K, B) array.
__device__ __forceinline__ idx_t line_start(idx_t line, idx_t nk, idx_t nb) { return line / nb * nk * nb + line % nb; }

extern "C" __global__ void softmax_lines(const scalar_t* __restrict__ x, scalar_t* __restrict__ y,
                                         idx_t na, idx_t nk, idx_t nb, idx_t take_log)
{
    GRID_STRIDE_LOOP(line, na * nb) {
        const idx_t start = line_start(line, nk, nb);
        line_softmax(x + start, y + start, nk, nb, take_log);
    }
}

// y = softmax(x):     dx = y (dy - sum_k dy y)
// y = log_softmax(x): dx = dy - exp(y) sum_k dy     (take_log)
extern "C" __global__ void softmax_backward_lines(const scalar_t* __restrict__ dy, const scalar_t* __restrict__ y,
                                                  scalar_t* __restrict__ dx, idx_t na, idx_t nk, idx_t nb,
                                                  idx_t take_log)
{
    GRID_STRIDE_LOOP(line, na * nb) {
        const idx_t start = line_start(line, nk, nb);
        double total = 0.0;
        for (idx_t e = start; e < start + nk * nb; e += nb)
            total += take_log ? (double)dy[e] : (double)dy[e] * (double)y[e];
        for (idx_t e = start; e < start + nk * nb; e += nb)
            dx[e] = (scalar_t)(take_log ? (double)dy[e] - exp((double)y[e]) * total
                                        : (double)y[e] * ((double)dy[e] - total));
    }
}

// Per row r of logits (N, K): log_probs[r] = log_softmax(logits[r]) and
// losses[r] = (1 - eps) (-log_probs[r, t_r]) + eps mean_k (-log_probs[r, k]),
// from the stored (rounded) log_probs, as the other backends do.
extern "C" __global__ void softmax_cross_entropy_rows(const scalar_t* __restrict__ logits,
                                                      const idx_t* __restrict__ targets, double smoothing,
                                                      scalar_t* __restrict__ log_probs, double* __restrict__ losses,
                                                      idx_t n, idx_t k)
{
    GRID_STRIDE_LOOP(r, n) {
        scalar_t* out = log_probs + r * k;
        line_softmax(logits + r * k, out, k, 1, true);
        double row_sum = 0.0;
        for (idx_t j = 0; j < k; ++j) row_sum += (double)out[j];
        double loss = -(double)out[targets[r]];
        if (smoothing != 0.0) loss = (1.0 - smoothing) * loss - smoothing * (row_sum / (double)k);
        losses[r] = loss;
    }
}

// dlogits[r, j] = (exp(log_probs[r, j]) - eps / K - (1 - eps) [j == t_r]) / N
extern "C" __global__ void softmax_cross_entropy_backward(const scalar_t* __restrict__ log_probs,
                                                          const idx_t* __restrict__ targets, double smoothing,
                                                          scalar_t* __restrict__ dlogits, idx_t n, idx_t k)
{
    GRID_STRIDE_LOOP(e, n * k) {
        double g = exp((double)log_probs[e]) - smoothing / (double)k;
        if (e % k == targets[e / k]) g -= 1.0 - smoothing;
        dlogits[e] = (scalar_t)(g / (double)n);
    }
}
