// Max and average pooling, forward, and max pooling's backward.
//
// x is (N, C, H, W); window k_h x k_w, stride s, padding p (at most half the
// kernel, so every window holds a pixel); output (N, C, H_out, W_out), ceil_mode
// or not (the wrappers size it). Window (oh, ow) covers rows
// [oh s_h - p_h, oh s_h - p_h + k_h) clipped to [0, H), and likewise columns; the
// clipped part is padding, or past it in ceil_mode: -inf for max (it never wins),
// 0 for average, which divides by the divisor its wrapper passes (the window's
// cells inside the padded input, or inside x without count_include_pad).
//
// Forward: one thread per output. Max backward: one thread per (n, c) plane (see
// there). Average backward is conv.cu's col2im gather, run on dout / divisor.
#include "common.cuh"

// The window of output position idx = ((n C + c) H_out + oh) W_out + ow: its (n, c) plane
// of x and the rows [h0, h1) and columns [w0, w1) it covers inside the image.
struct Window { const scalar_t* plane; idx_t h0, h1, w0, w1; };

__device__ __forceinline__ Window window_of(const scalar_t* x, idx_t idx, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                           idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    const idx_t ow = idx % wo;
    const idx_t oh = (idx / wo) % ho;
    Window r;
    r.plane = x + (idx / (ho * wo)) * h * w;
    r.h0 = imax(oh * sh - ph, 0);
    r.h1 = imin(oh * sh - ph + kh, h);
    r.w0 = imax(ow * sw - pw, 0);
    r.w1 = imin(ow * sw - pw + kw, w);
    return r;
}

// out = max over the window; argmax = h W + w of its first maximum in row-major
// window order (a NaN counts as the maximum, as numpy.argmax).
extern "C" __global__ void max_pool2d(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                      idx_t* __restrict__ argmax,
                                      idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                      idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    GRID_STRIDE_LOOP(idx, n * c * ho * wo) {
        const Window win = window_of(x, idx, h, w, kh, kw, sh, sw, ph, pw, ho, wo);
        scalar_t best = win.plane[win.h0 * w + win.w0];
        idx_t arg = win.h0 * w + win.w0;
        for (idx_t ih = win.h0; ih < win.h1; ++ih) {
            for (idx_t iw = win.w0; iw < win.w1; ++iw) {
                const scalar_t v = win.plane[ih * w + iw];
                if (v > best || (v != v && best == best)) {
                    best = v;
                    arg = ih * w + iw;
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

// out = (sum of the zero-padded window) / divisor[oh, ow].
extern "C" __global__ void avg_pool2d(const scalar_t* __restrict__ x, const scalar_t* __restrict__ divisor,
                                      scalar_t* __restrict__ out,
                                      idx_t n, idx_t c, idx_t h, idx_t w, idx_t kh, idx_t kw,
                                      idx_t sh, idx_t sw, idx_t ph, idx_t pw, idx_t ho, idx_t wo)
{
    GRID_STRIDE_LOOP(idx, n * c * ho * wo) {
        const Window win = window_of(x, idx, h, w, kh, kw, sh, sw, ph, pw, ho, wo);
        scalar_t acc = 0;
        for (idx_t ih = win.h0; ih < win.h1; ++ih)
            for (idx_t iw = win.w0; iw < win.w1; ++iw)
                acc += win.plane[ih * w + iw];
        out[idx] = acc / divisor[idx % (ho * wo)];
    }
}
