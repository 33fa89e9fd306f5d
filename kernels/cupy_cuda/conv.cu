// im2col and col2im.
//
// Notation: x is (N, C, H, W); kernel k_h x k_w, stride s, padding p, dilation d;
// output plane H_out x W_out; column row r = (c k_h + i) k_w + j.
//
//   cols[n, r, oh W_out + ow] = x[n, c, oh s_h - p_h + i d_h, ow s_w - p_w + j d_w]   (0 outside)
//
// im2col: one thread per output position (coalesced writes). col2im is its adjoint,
// written as a GATHER: one thread per input pixel sums, in (i, j) order, the
// entries that were read from it, so there are no atomics and the result is
// deterministic (and equal to the NumPy reference's order of additions).
#include "common.cuh"

extern "C" __global__ void im2col(const scalar_t* __restrict__ x, scalar_t* __restrict__ cols,
                                  idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                  idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t dh, idx_t dw,
                                  idx_t ho, idx_t wo)
{
    // One thread per (n, c, oh, ow): it writes the k_h k_w entries of its output position,
    // rows L = H_out W_out apart; neighbouring threads write neighbouring columns (coalesced).
    const idx_t l = ho * wo;
    GRID_STRIDE_LOOP(idx, n * c * l) {
        const idx_t pos = idx % l;                  // oh W_out + ow
        const idx_t plane = idx / l;                // n C + c
        const idx_t oh = pos / wo, ow = pos % wo;
        const scalar_t* src = x + plane * h * w;
        scalar_t* dst = cols + plane * kh * kw * l + pos;
        for (idx_t i = 0; i < kh; ++i) {
            const idx_t ih = oh * sh - ph + i * dh;
            const bool row_inside = ih >= 0 && ih < h;
            for (idx_t j = 0; j < kw; ++j) {
                const idx_t iw = ow * sw - pw + j * dw;
                dst[(i * kw + j) * l] = (row_inside && iw >= 0 && iw < w) ? src[ih * w + iw] : (scalar_t)0;
            }
        }
    }
}

// The column row of image n, channel c and kernel offset (i, j) starts at
// cols + n step_n + c step_c + (i k_w + j) step_k: col2im's (N, C k_h k_w, L) columns have
// (step_c, step_k, step_n) = (k_h k_w L, L, C k_h k_w L); average-pool backward passes
// dout / (k_h k_w) as (N, C, L) with (L, 0, C L), one row for every kernel offset (no k_h k_w copy).
extern "C" __global__ void col2im(const scalar_t* __restrict__ cols, scalar_t* __restrict__ dx,
                                  idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                  idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t dh, idx_t dw,
                                  idx_t ho, idx_t wo, idx_t step_c, idx_t step_k, idx_t step_n)
{
    GRID_STRIDE_LOOP(idx, n * c * h * w) {
        const idx_t iw = idx % w;
        const idx_t ih = (idx / w) % h;
        const idx_t plane = idx / (h * w);          // n C + c
        const scalar_t* src = cols + plane / c * step_n + plane % c * step_c;
        scalar_t acc = 0;
        for (idx_t i = 0; i < kh; ++i) {
            const idx_t th = ih + ph - i * dh;      // = oh s_h when kernel row i reads row ih
            if (th < 0 || th % sh != 0 || th / sh >= ho) continue;
            for (idx_t j = 0; j < kw; ++j) {
                const idx_t tw = iw + pw - j * dw;
                if (tw < 0 || tw % sw != 0 || tw / sw >= wo) continue;
                acc += src[(i * kw + j) * step_k + th / sh * wo + tw / sw];
            }
        }
        dx[idx] = acc;
    }
}
