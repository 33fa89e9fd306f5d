// im2col and col2im. Compiled once per dtype with -Dscalar_t=float or -Dscalar_t=double.
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
#ifndef scalar_t
#error "compile with -Dscalar_t=float or -Dscalar_t=double"
#endif

typedef long long idx_t;

#define GRID_STRIDE_LOOP(i, total) \
    for (idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; i < (total); \
         i += (idx_t)blockDim.x * gridDim.x)

extern "C" __global__ void im2col(const scalar_t* __restrict__ x, scalar_t* __restrict__ cols,
                                  idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                  idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t dh, idx_t dw,
                                  idx_t ho, idx_t wo)
{
    // One thread per (n, c, oh, ow): it writes the k_h k_w entries of its output position,
    // rows L = H_out W_out apart; neighbouring threads write neighbouring columns (coalesced).
    const idx_t l = ho * wo;
    const idx_t total = n * c * l;
    GRID_STRIDE_LOOP(idx, total) {
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

extern "C" __global__ void col2im(const scalar_t* __restrict__ cols, scalar_t* __restrict__ dx,
                                  idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                  idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t dh, idx_t dw,
                                  idx_t ho, idx_t wo)
{
    const idx_t total = n * c * h * w;
    GRID_STRIDE_LOOP(idx, total) {
        const idx_t ww = idx % w;
        const idx_t hh = (idx / w) % h;
        const idx_t plane = idx / (h * w);         // n * C + c
        scalar_t acc = 0;
        for (idx_t i = 0; i < kh; ++i) {
            const idx_t th = hh + ph - i * dh;      // = oh s_h when kernel row i reads row hh
            if (th < 0 || th % sh != 0 || th / sh >= ho) continue;
            const idx_t oh = th / sh;
            for (idx_t j = 0; j < kw; ++j) {
                const idx_t tw = ww + pw - j * dw;
                if (tw < 0 || tw % sw != 0 || tw / sw >= wo) continue;
                acc += cols[((plane * kh + i) * kw + j) * ho * wo + oh * wo + tw / sw];
            }
        }
        dx[idx] = acc;
    }
}
