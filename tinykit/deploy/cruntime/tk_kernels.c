/* tinykit's portable int8 kernels (see tk_kernels.h). The arithmetic is TFLite's
 * reference arithmetic: gemmlowp's fixed-point helpers (saturating rounding doubling
 * high multiply, rounding divide by a power of two), TFLite's MultiplyByQuantizedMultiplier
 * and its int8 softmax (fixed-point exp on negative values in Q5.26, sum in Q12.19,
 * reciprocal 1/(1+x) by Newton-Raphson), so results are bit for bit those of the TFLite
 * Micro reference kernels. */
#include "tk_kernels.h"

#include <stddef.h>

/* ------------------------------------------------------------ fixed-point helpers */

/* round(a * b / 2^31), saturating the one overflowing case (as ARM's VQRDMULH). */
static int32_t sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero. Exponents above 31 (which
 * TFLite's int8 softmax reaches only when a row sums to 512 or more) give the exact
 * result, 0, for the non-negative values it divides. */
static int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    if (exponent <= 0) {
        return x;
    }
    if (exponent > 31) {
        return 0;
    }
    int32_t mask = (int32_t)((((uint32_t)1) << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent, saturating to the int32 range. */
static int32_t saturating_shift_left(int32_t x, int exponent)
{
    int32_t threshold = (int32_t)((((uint32_t)1) << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((int64_t)x * ((int64_t)1 << exponent));
}

static int count_leading_zeros(uint32_t x)
{
#if defined(__GNUC__)
    return x ? __builtin_clz(x) : 32;
#else
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

int32_t tk_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    int32_t scaled = (int32_t)((uint32_t)acc << left);
    return rounding_divide_by_pot(sat_rounding_doubling_high_mul(scaled, multiplier), right);
}

static int8_t clamp_int8(int32_t v, const tk_range *range)
{
    if (v < range->min) v = range->min;
    if (v > range->max) v = range->max;
    return (int8_t)v;
}

/* ------------------------------------------------------------ argument checks */

int tk_dims_ok(const tk_dims *d)
{
    return d != NULL && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

int tk_range_ok(const tk_range *r)
{
    return r->min >= INT8_MIN && r->max <= INT8_MAX && r->min <= r->max;
}

static int hw_ok(tk_hw v, int32_t least)
{
    return v.h >= least && v.w >= least;
}

static tk_status quant_check(const tk_quant *q, int32_t channels)
{
    if (q == NULL || q->multiplier == NULL || q->shift == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    return (q->count == 1 || q->count == channels) ? TK_OK : TK_ERROR_SIZE;
}

static int8_t requantize_channel(int32_t acc, const tk_quant *q, int32_t channel,
                                 const tk_range *activation)
{
    int32_t k = q->count == 1 ? 0 : channel;
    acc = tk_requantize(acc, q->multiplier[k], q->shift[k]) + q->output_zero_point;
    return clamp_int8(acc, activation);
}

static tk_status conv_check(const tk_conv_params *p, const tk_quant *q,
                            const tk_dims *in_d, const int8_t *in, const tk_dims *f_d,
                            const int8_t *f, const tk_dims *out_d, const int8_t *out)
{
    if (p == NULL || in == NULL || f == NULL || out == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(in_d) || !tk_dims_ok(f_d) || !tk_dims_ok(out_d) || in_d->n != out_d->n) {
        return TK_ERROR_SIZE;
    }
    if (!hw_ok(p->stride, 1) || !hw_ok(p->dilation, 1) || !hw_ok(p->padding, 0) ||
        !tk_range_ok(&p->activation)) {
        return TK_ERROR_ARGUMENT;
    }
    return quant_check(q, out_d->c);
}

/* ------------------------------------------------------------ convolutions */

/* One output value's accumulator: the sum, over the filter window placed at output
 * (oy, ox), of filter * (input - input_zero_point). `in` points at the first input
 * channel used and `depth` channels are summed (all of them for a convolution, one
 * for a depthwise convolution); `filter` points at the output's first tap and
 * `tap_step` is the distance between its taps. */
static int32_t window_sum(const tk_conv_params *p, const tk_dims *in_d, const int8_t *in,
                          int32_t depth, const tk_dims *f_d, const int8_t *filter,
                          size_t tap_step, int32_t oy, int32_t ox, int32_t zero_point)
{
    const int32_t y0 = oy * p->stride.h - p->padding.h;
    const int32_t x0 = ox * p->stride.w - p->padding.w;
    int32_t acc = 0;
    for (int32_t ky = 0; ky < f_d->h; ky++) {
        const int32_t y = y0 + ky * p->dilation.h;
        if (y < 0 || y >= in_d->h) continue;
        for (int32_t kx = 0; kx < f_d->w; kx++) {
            const int32_t x = x0 + kx * p->dilation.w;
            if (x < 0 || x >= in_d->w) continue;
            const int8_t *pi = in + ((size_t)y * in_d->w + x) * in_d->c;
            const int8_t *pf = filter + ((size_t)ky * f_d->w + kx) * tap_step;
            for (int32_t c = 0; c < depth; c++) {
                acc += (int32_t)pf[c] * ((int32_t)pi[c] - zero_point);
            }
        }
    }
    return acc;
}

/* Both convolutions, NHWC. A convolution's filter is OHWI and every output channel
 * sums all input channels; a depthwise filter is 1HWC (C = input channels * depth
 * multiplier) and output channel o reads input channel o / multiplier only. */
static tk_status convolve(const tk_conv_params *params, const tk_quant *quant,
                          const tk_dims *input_dims, const int8_t *input,
                          const tk_dims *filter_dims, const int8_t *filter,
                          const int32_t *bias, const tk_dims *output_dims, int8_t *output,
                          int depthwise)
{
    tk_status status = conv_check(params, quant, input_dims, input, filter_dims, filter,
                                  output_dims, output);
    if (status != TK_OK) {
        return status;
    }
    const int32_t ic = input_dims->c, oc = output_dims->c;
    const size_t taps = (size_t)filter_dims->h * filter_dims->w;
    if (depthwise ? (filter_dims->n != 1 || filter_dims->c != oc || oc % ic != 0)
                  : (filter_dims->n != oc || filter_dims->c != ic)) {
        return TK_ERROR_SIZE;
    }
    const int32_t multiplier = oc / ic;
    const size_t in_size = (size_t)input_dims->h * input_dims->w * ic;
    const size_t out_size = (size_t)output_dims->h * output_dims->w * oc;
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + (size_t)b * in_size;
        int8_t *out = output + (size_t)b * out_size;
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                for (int32_t o = 0; o < oc; o++) {
                    int32_t acc = depthwise
                        ? window_sum(params, input_dims, in + o / multiplier, 1, filter_dims,
                                     filter + o, (size_t)oc, oy, ox, quant->input_zero_point)
                        : window_sum(params, input_dims, in, ic, filter_dims,
                                     filter + (size_t)o * taps * ic, (size_t)ic, oy, ox,
                                     quant->input_zero_point);
                    if (bias != NULL) acc += bias[o];
                    *out++ = requantize_channel(acc, quant, o, &params->activation);
                }
            }
        }
    }
    return TK_OK;
}

tk_status tk_conv2d(const tk_conv_params *params, const tk_quant *quant,
                    const tk_dims *input_dims, const int8_t *input,
                    const tk_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                    const tk_dims *output_dims, int8_t *output)
{
    return convolve(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                    output, 0);
}

tk_status tk_depthwise_conv2d(const tk_depthwise_params *params, const tk_quant *quant,
                              const tk_dims *input_dims, const int8_t *input,
                              const tk_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias, const tk_dims *output_dims,
                              int8_t *output)
{
    if (params == NULL || input_dims == NULL || output_dims == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (params->depth_multiplier < 1 ||
        params->depth_multiplier * input_dims->c != output_dims->c) {
        return TK_ERROR_SIZE;
    }
    return convolve(&params->conv, quant, input_dims, input, filter_dims, filter, bias,
                    output_dims, output, 1);
}

tk_status tk_fully_connected(const tk_fc_params *params, const tk_quant *quant,
                             const tk_dims *input_dims, const int8_t *input,
                             const tk_dims *filter_dims, const int8_t *filter,
                             const int32_t *bias, const tk_dims *output_dims,
                             int8_t *output)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(input_dims) || !tk_dims_ok(filter_dims) || !tk_dims_ok(output_dims)) {
        return TK_ERROR_SIZE;
    }
    if (!tk_range_ok(&params->activation)) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t depth = filter_dims->h * filter_dims->w * filter_dims->c;
    const int32_t n_out = filter_dims->n;
    const int32_t rows = input_dims->n;
    if (input_dims->h * input_dims->w * input_dims->c != depth || output_dims->n != rows ||
        output_dims->h * output_dims->w * output_dims->c != n_out) {
        return TK_ERROR_SIZE;
    }
    tk_status status = quant_check(quant, n_out);
    if (status != TK_OK) {
        return status;
    }
    for (int32_t b = 0; b < rows; b++) {
        const int8_t *in = input + (size_t)b * depth;
        for (int32_t o = 0; o < n_out; o++) {
            const int8_t *pf = filter + (size_t)o * depth;
            int32_t acc = 0;
            for (int32_t i = 0; i < depth; i++) {
                acc += (int32_t)pf[i] * ((int32_t)in[i] - quant->input_zero_point);
            }
            if (bias != NULL) acc += bias[o];
            output[(size_t)b * n_out + o] = requantize_channel(acc, quant, o, &params->activation);
        }
    }
    return TK_OK;
}

/* ------------------------------------------------------------ pooling */

static tk_status pool(const tk_pool_params *p, const tk_dims *in_d, const int8_t *input,
                      const tk_dims *out_d, int8_t *output, int average)
{
    if (p == NULL || input == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(in_d) || !tk_dims_ok(out_d) || in_d->n != out_d->n || in_d->c != out_d->c) {
        return TK_ERROR_SIZE;
    }
    if (!hw_ok(p->filter, 1) || !hw_ok(p->stride, 1) || !hw_ok(p->padding, 0) ||
        !tk_range_ok(&p->activation)) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t ih = in_d->h, iw = in_d->w, c = in_d->c, oh = out_d->h, ow = out_d->w;
    for (int32_t b = 0; b < in_d->n; b++) {
        const int8_t *in = input + (size_t)b * ih * iw * c;
        int8_t *out = output + (size_t)b * oh * ow * c;
        for (int32_t oy = 0; oy < oh; oy++) {
            for (int32_t ox = 0; ox < ow; ox++) {
                const int32_t y0 = oy * p->stride.h - p->padding.h;
                const int32_t x0 = ox * p->stride.w - p->padding.w;
                for (int32_t ch = 0; ch < c; ch++) {
                    int32_t best = INT8_MIN, sum = 0, count = 0;
                    for (int32_t ky = 0; ky < p->filter.h; ky++) {
                        const int32_t y = y0 + ky;
                        if (y < 0 || y >= ih) continue;
                        for (int32_t kx = 0; kx < p->filter.w; kx++) {
                            const int32_t x = x0 + kx;
                            if (x < 0 || x >= iw) continue;
                            const int32_t v = in[((size_t)y * iw + x) * c + ch];
                            if (v > best) best = v;
                            sum += v;
                            count++;
                        }
                    }
                    int32_t r = best;
                    if (average) {
                        if (count == 0) {
                            return TK_ERROR_SIZE;  /* a window entirely in the padding */
                        }
                        r = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    }
                    out[((size_t)oy * ow + ox) * c + ch] = clamp_int8(r, &p->activation);
                }
            }
        }
    }
    return TK_OK;
}

tk_status tk_max_pool(const tk_pool_params *params, const tk_dims *input_dims,
                      const int8_t *input, const tk_dims *output_dims, int8_t *output)
{
    return pool(params, input_dims, input, output_dims, output, 0);
}

tk_status tk_avg_pool(const tk_pool_params *params, const tk_dims *input_dims,
                      const int8_t *input, const tk_dims *output_dims, int8_t *output)
{
    return pool(params, input_dims, input, output_dims, output, 1);
}

/* ------------------------------------------------------------ softmax */

/* Fixed-point formats, named by their integer bits: Q0.31 values in [-1, 1), the
 * Q5.26 scaled input differences, the Q12.19 sum of exponentials. */
#define TK_SCALED_DIFF_INTEGER_BITS 5
#define TK_ACCUMULATION_INTEGER_BITS 12

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: a Taylor expansion around -1/8. */
static int32_t exp_on_interval_minus_quarter_to_0(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;  /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;              /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                  /* a + 1/8 */
    const int32_t x2 = sat_rounding_doubling_high_mul(x, x);
    const int32_t x3 = sat_rounding_doubling_high_mul(x2, x);
    const int32_t x4 = sat_rounding_doubling_high_mul(x2, x2);
    const int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
    const int32_t poly = rounding_divide_by_pot(
        sat_rounding_doubling_high_mul(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + sat_rounding_doubling_high_mul(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0: a in Q5.26, the result in Q0.31. The input splits into a
 * remainder in [-1/4, 0) and multiples of 1/4 .. 16, whose exponentials multiply in. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t exp_minus_pot[7] = {
        1672461947,  /* exp(-1/4) */
        1302514674,  /* exp(-1/2) */
        790015084,   /* exp(-1) */
        290630308,   /* exp(-2) */
        39332535,    /* exp(-4) */
        720401,      /* exp(-8) */
        242          /* exp(-16) */
    };
    const int fractional_bits = 31 - TK_SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = exp_on_interval_minus_quarter_to_0(
        saturating_shift_left(a_mod_quarter_minus_quarter, TK_SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = (int32_t)((uint32_t)a_mod_quarter_minus_quarter - (uint32_t)a);
    for (int k = 0; k < 7; k++) {
        if (remainder & ((int32_t)1 << (fractional_bits - 2 + k))) {
            result = sat_rounding_doubling_high_mul(result, exp_minus_pot[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out: three Newton-Raphson steps in Q2.29
 * from the estimate 48/17 - 32/17 * d, with d = (1 + a) / 2. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t a_plus_one = (int64_t)a + INT32_MAX;  /* 1 is INT32_MAX in Q0.31 */
    const int32_t half_denominator = (int32_t)((a_plus_one + (a_plus_one >= 0 ? 1 : -1)) / 2);
    const int32_t q2_one = (int32_t)1 << 29;
    int32_t x = 1515870810 + sat_rounding_doubling_high_mul(half_denominator, -1010580540);
    for (int i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x =
            sat_rounding_doubling_high_mul(half_denominator, x);
        const int32_t one_minus = q2_one - half_denominator_times_x;
        x = x + saturating_shift_left(sat_rounding_doubling_high_mul(x, one_minus), 2);
    }
    return saturating_shift_left(x, 1);  /* x / 2 in Q1.30, as Q0.31 */
}

tk_status tk_softmax(const tk_softmax_params *params, const tk_dims *dims,
                     const int8_t *input, int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(dims)) {
        return TK_ERROR_SIZE;
    }
    if (params->input_left_shift < 0 || params->input_left_shift > 31 ||
        params->input_multiplier < 0 || params->diff_min > 0) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t depth = dims->c;
    /* The Q12.19 sum of depth values of at most 1.0 must not overflow. */
    if (depth >= (1 << TK_ACCUMULATION_INTEGER_BITS)) {
        return TK_ERROR_SIZE;
    }
    const int32_t rows = dims->n * dims->h * dims->w;
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *in = input + (size_t)r * depth;
        int8_t *out = output + (size_t)r * depth;
        int32_t max = INT8_MIN;
        for (int32_t c = 0; c < depth; c++) {
            if (in[c] > max) max = in[c];
        }
        int32_t sum_of_exps = 0;  /* Q12.19 */
        for (int32_t c = 0; c < depth; c++) {
            const int32_t diff = (int32_t)in[c] - max;
            if (diff >= params->diff_min) {
                const int32_t scaled = sat_rounding_doubling_high_mul(
                    (int32_t)((int64_t)diff * ((int64_t)1 << params->input_left_shift)),
                    params->input_multiplier);
                sum_of_exps += rounding_divide_by_pot(exp_on_negative_values(scaled),
                                                      TK_ACCUMULATION_INTEGER_BITS);
            }
        }
        /* sum = 2^bits_over_unit * (1 + x), x in [0, 1); 1 / sum = that reciprocal. */
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int bits_over_unit = TK_ACCUMULATION_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t c = 0; c < depth; c++) {
            const int32_t diff = (int32_t)in[c] - max;
            int32_t v = INT8_MIN;
            if (diff >= params->diff_min) {
                const int32_t scaled = sat_rounding_doubling_high_mul(
                    (int32_t)((int64_t)diff * ((int64_t)1 << params->input_left_shift)),
                    params->input_multiplier);
                const int32_t p = sat_rounding_doubling_high_mul(
                    shifted_scale, exp_on_negative_values(scaled));
                v = rounding_divide_by_pot(p, bits_over_unit + 31 - 8) + INT8_MIN;
                if (v > INT8_MAX) v = INT8_MAX;
                if (v < INT8_MIN) v = INT8_MIN;
            }
            out[c] = (int8_t)v;
        }
    }
    return TK_OK;
}

/* ------------------------------------------------------------ quantize */

tk_status tk_quantize(const tk_quant *quant, const tk_dims *dims, const int8_t *input,
                      int8_t *output)
{
    static const tk_range full = {INT8_MIN, INT8_MAX};
    if (input == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(dims)) {
        return TK_ERROR_SIZE;
    }
    tk_status status = quant_check(quant, 1);
    if (status != TK_OK) {
        return status;
    }
    const size_t n = (size_t)dims->n * dims->h * dims->w * dims->c;
    for (size_t i = 0; i < n; i++) {
        output[i] = requantize_channel((int32_t)input[i] - quant->input_zero_point, quant, 0,
                                       &full);
    }
    return TK_OK;
}
