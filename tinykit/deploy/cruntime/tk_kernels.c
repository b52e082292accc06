/* tinykit's portable int8 kernels (see tk_kernels.h). */
#include "tk_kernels.h"

#include <math.h>

/* round(a * b / 2^31) with saturation, as TFLite's fixed-point helpers define it. */
static int32_t doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^e rounded half away from zero. */
static int32_t rounding_divide_pot(int32_t x, int e)
{
    if (e == 0) {
        return x;
    }
    int32_t mask = (int32_t)((1u << e) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

int32_t tk_requantize(int32_t acc, int32_t mult, int32_t shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return rounding_divide_pot(doubling_high_mul((int32_t)((uint32_t)acc << left), mult), right);
}

static int8_t finish(int32_t acc, const tk_quant *q, int channel)
{
    int k = q->per_channel ? channel : 0;
    acc = tk_requantize(acc, q->mult[k], q->shift[k]) + q->out_zp;
    if (acc < q->act_min) acc = q->act_min;
    if (acc > q->act_max) acc = q->act_max;
    return (int8_t)acc;
}

void tk_conv2d(const int8_t *in, int ih, int iw, int ic, const int8_t *w, int kh, int kw,
               int oc, const int32_t *bias, int8_t *out, int oh, int ow, int sh, int sw,
               int dh, int dw, int pad_h, int pad_w, const tk_quant *q)
{
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            for (int o = 0; o < oc; o++) {
                int32_t acc = 0;
                for (int ky = 0; ky < kh; ky++) {
                    int y = oy * sh - pad_h + ky * dh;
                    if (y < 0 || y >= ih) continue;
                    for (int kx = 0; kx < kw; kx++) {
                        int x = ox * sw - pad_w + kx * dw;
                        if (x < 0 || x >= iw) continue;
                        const int8_t *pi = in + (y * iw + x) * ic;
                        const int8_t *pw = w + ((o * kh + ky) * kw + kx) * ic;
                        for (int c = 0; c < ic; c++) {
                            acc += (int32_t)pw[c] * ((int32_t)pi[c] - q->in_zp);
                        }
                    }
                }
                if (bias) acc += bias[o];
                out[(oy * ow + ox) * oc + o] = finish(acc, q, o);
            }
        }
    }
}

void tk_depthwise_conv2d(const int8_t *in, int ih, int iw, int ic, const int8_t *w, int kh,
                         int kw, int depth_mult, const int32_t *bias, int8_t *out, int oh,
                         int ow, int sh, int sw, int dh, int dw, int pad_h, int pad_w,
                         const tk_quant *q)
{
    int oc = ic * depth_mult;
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            for (int c = 0; c < ic; c++) {
                for (int m = 0; m < depth_mult; m++) {
                    int o = c * depth_mult + m;
                    int32_t acc = 0;
                    for (int ky = 0; ky < kh; ky++) {
                        int y = oy * sh - pad_h + ky * dh;
                        if (y < 0 || y >= ih) continue;
                        for (int kx = 0; kx < kw; kx++) {
                            int x = ox * sw - pad_w + kx * dw;
                            if (x < 0 || x >= iw) continue;
                            acc += (int32_t)w[(ky * kw + kx) * oc + o] *
                                   ((int32_t)in[(y * iw + x) * ic + c] - q->in_zp);
                        }
                    }
                    if (bias) acc += bias[o];
                    out[(oy * ow + ox) * oc + o] = finish(acc, q, o);
                }
            }
        }
    }
}

void tk_fully_connected(const int8_t *in, int n_in, const int8_t *w, int n_out,
                        const int32_t *bias, int8_t *out, const tk_quant *q)
{
    for (int o = 0; o < n_out; o++) {
        int32_t acc = 0;
        const int8_t *pw = w + o * n_in;
        for (int i = 0; i < n_in; i++) {
            acc += (int32_t)pw[i] * ((int32_t)in[i] - q->in_zp);
        }
        if (bias) acc += bias[o];
        out[o] = finish(acc, q, o);
    }
}

void tk_quantize(const int8_t *in, int n, int8_t *out, const tk_quant *q)
{
    for (int i = 0; i < n; i++) {
        out[i] = finish((int32_t)in[i] - q->in_zp, q, 0);
    }
}

static void pool(const int8_t *in, int ih, int iw, int c, int8_t *out, int oh, int ow,
                 int fh, int fw, int sh, int sw, int pad_h, int pad_w, int act_min,
                 int act_max, int average)
{
    for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
            for (int ch = 0; ch < c; ch++) {
                int32_t best = -128, sum = 0, count = 0;
                for (int ky = 0; ky < fh; ky++) {
                    int y = oy * sh - pad_h + ky;
                    if (y < 0 || y >= ih) continue;
                    for (int kx = 0; kx < fw; kx++) {
                        int x = ox * sw - pad_w + kx;
                        if (x < 0 || x >= iw) continue;
                        int32_t v = in[(y * iw + x) * c + ch];
                        if (v > best) best = v;
                        sum += v;
                        count++;
                    }
                }
                int32_t r = best;
                if (average) {
                    r = count ? (sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count) : 0;
                }
                if (r < act_min) r = act_min;
                if (r > act_max) r = act_max;
                out[(oy * ow + ox) * c + ch] = (int8_t)r;
            }
        }
    }
}

void tk_max_pool(const int8_t *in, int ih, int iw, int c, int8_t *out, int oh, int ow,
                 int fh, int fw, int sh, int sw, int pad_h, int pad_w, int act_min,
                 int act_max)
{
    pool(in, ih, iw, c, out, oh, ow, fh, fw, sh, sw, pad_h, pad_w, act_min, act_max, 0);
}

void tk_avg_pool(const int8_t *in, int ih, int iw, int c, int8_t *out, int oh, int ow,
                 int fh, int fw, int sh, int sw, int pad_h, int pad_w, int act_min,
                 int act_max)
{
    pool(in, ih, iw, c, out, oh, ow, fh, fw, sh, sw, pad_h, pad_w, act_min, act_max, 1);
}

/* Softmax in single-precision float, requantized to the output scale: within an LSB
 * of TFLite's fixed-point int8 softmax. */
void tk_softmax(const int8_t *in, int n, float in_scale, int in_zp, int8_t *out,
                float out_scale, int out_zp)
{
    int32_t max = -128;
    for (int i = 0; i < n; i++) {
        if (in[i] > max) max = in[i];
    }
    float e[256], sum = 0.0f;
    for (int i = 0; i < n && i < 256; i++) {
        e[i] = expf((float)(in[i] - max) * in_scale);
        sum += e[i];
    }
    (void)in_zp;
    for (int i = 0; i < n && i < 256; i++) {
        int32_t v = (int32_t)lrintf(e[i] / sum / out_scale) + out_zp;
        if (v < -128) v = -128;
        if (v > 127) v = 127;
        out[i] = (int8_t)v;
    }
}
