// Max and average pooling, forward and backward. Compiled once per dtype with
// -Dscalar_t=float or -Dscalar_t=double.
//
// x is (N, C, H, W); window k_h x k_w, stride s, padding p (at most half the
// kernel, so every window holds a pixel); output (N, C, H_out, W_out). Window
// (oh, ow) covers rows [oh s_h - p_h, oh s_h - p_h + k_h) clipped to [0, H), and
// likewise columns; the clipped part is padding: -inf for max (it never wins),
// 0 for average (it still counts in the divisor k_h k_w, PyTorch's default).
//
// Forward: one thread per output. Average backward: one thread per INPUT pixel,
// which gathers from the windows covering it, rows
//   ceil((h + p_h - k_h + 1) / s_h) <= oh <= floor((h + p_h) / s_h),
// so there are no atomics and the sums are deterministic. Max backward: one
// thread per (n, c) plane (see there).
#ifndef scalar_t
#error "compile with -Dscalar_t=float or -Dscalar_t=double"
#endif

typedef long long idx_t;

#define GRID_STRIDE_LOOP(i, total) \
    for (idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; i < (total); \
         i += (idx_t)blockDim.x * gridDim.x)

__device__ __forceinline__ idx_t imin(idx_t a, idx_t b) { return a < b ? a : b; }
__device__ __forceinline__ idx_t imax(idx_t a, idx_t b) { return a > b ? a : b; }

// The window of output position idx = ((n C + c) H_out + oh) W_out + ow: the offset of
// its (n, c) plane and the rows [h0, h1) and columns [w0, w1) it covers inside the image.
struct Window { idx_t plane, h0, h1, w0, w1; };

__device__ __forceinline__ Window window_of(idx_t idx, idx_t h, idx_t w, idx_t kh, idx_t kw, idx_t sh, idx_t sw,
                                           idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    const idx_t ow = idx % wo;
    const idx_t oh = (idx / wo) % ho;
    Window r;
    r.plane = (idx / (ho * wo)) * h * w;
    r.h0 = imax(oh * sh - ph, 0);
    r.h1 = imin(oh * sh - ph + kh, h);
    r.w0 = imax(ow * sw - pw, 0);
    r.w1 = imin(ow * sw - pw + kw, w);
    return r;
}

// First window index o (of stride s, size k, padding p) that covers position q: ceil((q + p - k + 1) / s), >= 0.
__device__ __forceinline__ idx_t first_window(idx_t q, idx_t k, idx_t s, idx_t p)
{
    const idx_t num = q + p - k + 1;
    return num <= 0 ? 0 : (num + s - 1) / s;
}

// out = max over the window; argmax = h W + w of its first maximum in row-major
// window order (a NaN counts as the maximum, as numpy.argmax).
extern "C" __global__ void max_pool2d(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                      idx_t* __restrict__ argmax,
                                      idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                      idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    const idx_t total = n * c * ho * wo;
    GRID_STRIDE_LOOP(idx, total) {
        const Window win = window_of(idx, h, w, kh, kw, sh, sw, ph, pw, ho, wo);
        const scalar_t* plane = x + win.plane;
        scalar_t best = plane[win.h0 * w + win.w0];
        idx_t arg = win.h0 * w + win.w0;
        for (idx_t hh = win.h0; hh < win.h1; ++hh) {
            for (idx_t ww = win.w0; ww < win.w1; ++ww) {
                const scalar_t v = plane[hh * w + ww];
                if (v > best || (v != v && best == best)) {
                    best = v;
                    arg = hh * w + ww;
                }
            }
        }
        out[idx] = best;
        argmax[idx] = arg;
    }
}

// dx[p, argmax[p, o]] += dout[p, o] for the planes p = (n, c); dx must be zeroed.
// The primitive gets no window geometry, so it cannot gather per pixel; instead
// one thread owns a whole plane and adds its outputs in order: no atomics, no
// two threads touch one pixel, and the order of additions is the reference's.
extern "C" __global__ void max_pool2d_backward(const scalar_t* __restrict__ dout, const idx_t* __restrict__ argmax,
                                               scalar_t* __restrict__ dx, idx_t planes, idx_t hw, idx_t ohw)
{
    GRID_STRIDE_LOOP(p, planes) {
        for (idx_t o = p * ohw; o < (p + 1) * ohw; ++o)
            dx[p * hw + argmax[o]] += dout[o];
    }
}

// out = (sum of the zero-padded window) / (k_h k_w).
extern "C" __global__ void avg_pool2d(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                      idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                      idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    const idx_t total = n * c * ho * wo;
    GRID_STRIDE_LOOP(idx, total) {
        const Window win = window_of(idx, h, w, kh, kw, sh, sw, ph, pw, ho, wo);
        const scalar_t* plane = x + win.plane;
        scalar_t acc = 0;
        for (idx_t hh = win.h0; hh < win.h1; ++hh)
            for (idx_t ww = win.w0; ww < win.w1; ++ww)
                acc += plane[hh * w + ww];
        out[idx] = acc / (scalar_t)(kh * kw);
    }
}

// dx[h, w] = (sum of dout over the windows covering (h, w)) / (k_h k_w).
extern "C" __global__ void avg_pool2d_backward(const scalar_t* __restrict__ dout, scalar_t* __restrict__ dx,
                                               idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                               idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    const idx_t total = n * c * h * w;
    GRID_STRIDE_LOOP(idx, total) {
        const idx_t ww = idx % w;
        const idx_t hh = (idx / w) % h;
        const scalar_t* plane = dout + (idx / (h * w)) * ho * wo;
        const idx_t oh1 = imin((hh + ph) / sh + 1, ho), ow1 = imin((ww + pw) / sw + 1, wo);
        scalar_t acc = 0;
        for (idx_t oh = first_window(hh, kh, sh, ph); oh < oh1; ++oh)
            for (idx_t ow = first_window(ww, kw, sw, pw); ow < ow1; ++ow)
                acc += plane[oh * wo + ow];
        dx[idx] = acc / (scalar_t)(kh * kw);
    }
}
