/* tinykit's fast int8 kernels (see tk_fast.h). */
#include "tk_fast.h"

#include <stddef.h>
#include <string.h>

/* ------------------------------------------------------------ the DSP operations */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

/* b's bytes 0 and 2 (ror 8: 1 and 3), sign-extended, plus a's halves. */
#define SXTAB16(a, b) ((uint32_t)__sxtab16((int16x2_t)(a), (int8x4_t)(b)))
#define SXTAB16_ROR8(a, b) sxtab16_ror8((a), (b))
#define SXTB16(b) ((uint32_t)__sxtb16((int8x4_t)(b)))
#define SXTB16_ROR8(b) ((uint32_t)__sxtb16((int8x4_t)ror8(b)))
#define SMLAD(a, b, acc) __smlad((int16x2_t)(a), (int16x2_t)(b), (acc))
#define SMLABB(a, b, acc) __smlabb((int32_t)(a), (int32_t)(b), (acc))
#define SMLATT(a, b, acc) __smlatt((int32_t)(a), (int32_t)(b), (acc))

static inline uint32_t ror8(uint32_t x)
{
    return (x >> 8) | (x << 24);
}

/* One instruction (the compiler would rotate first). */
static inline uint32_t sxtab16_ror8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* round(a * b / 2^32) */
static inline int32_t smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* The bytewise maximum of two words of four int8. */
static inline uint32_t max4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

#else  /* the same, in portable C */

static inline int32_t half(uint32_t x, int hi)
{
    return (int16_t)(uint16_t)(hi ? x >> 16 : x);
}

static inline uint32_t pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

static inline uint32_t sxtab16(uint32_t a, uint32_t b, int rot)
{
    b = rot ? (b >> 8) | (b << 24) : b;
    return pack16(half(a, 0) + (int8_t)(uint8_t)b, half(a, 1) + (int8_t)(uint8_t)(b >> 16));
}

#define SXTAB16(a, b) sxtab16((a), (b), 0)
#define SXTAB16_ROR8(a, b) sxtab16((a), (b), 1)
#define SXTB16(b) sxtab16(0u, (b), 0)
#define SXTB16_ROR8(b) sxtab16(0u, (b), 1)

/* Products and sums wrap as the instructions do (int32, modulo 2^32). */
static inline int32_t wrap_add(int32_t acc, int32_t p)
{
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}
#define SMLAD(a, b, acc) wrap_add(wrap_add((acc), half((a), 0) * half((b), 0)), \
                                  half((a), 1) * half((b), 1))
#define SMLABB(a, b, acc) wrap_add((acc), half((a), 0) * half((b), 0))
#define SMLATT(a, b, acc) wrap_add((acc), half((a), 1) * half((b), 1))

static inline int32_t smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}

static inline uint32_t max4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t x = (int8_t)(uint8_t)(a >> i), y = (int8_t)(uint8_t)(b >> i);
        r |= (uint32_t)(uint8_t)(x > y ? x : y) << i;
    }
    return r;
}
#endif

static inline uint32_t load32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);      /* one LDR on Cortex-M3 and up (unaligned allowed) */
    return v;
}

static inline void store32(int8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* ------------------------------------------------------------ requantization */

int32_t tk_fast_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    /* SaturatingRoundingDoublingHighMul(acc, m) = floor((acc * m + 2^30) / 2^31) for
     * m > 0 (both signs of acc: TFLite's nudge and truncation toward zero agree with
     * this floor), which is SMMULR(2 acc, m) while 2 acc fits. Then TFLite's
     * RoundingDivideByPOT by e = -shift >= 1: round half away from zero. */
    const int32_t e = -shift;
    const int32_t x = smmulr((int32_t)((uint32_t)acc << 1), multiplier);
    return (x + ((int32_t)1 << (e - 1)) + (x >> 31)) >> e;
}

__attribute__((noinline)) static int8_t requantize_one(int32_t acc, const tk_requant *rq,
                                                      int32_t channel)
{
    const tk_quant *q = &rq->quant;
    const int32_t k = q->count == 1 ? 0 : channel;
    int32_t v = rq->fast ? tk_fast_requantize(acc, q->multiplier[k], q->shift[k])
                         : tk_requantize(acc, q->multiplier[k], q->shift[k]);
    v += q->output_zero_point;
    if (v < rq->activation.min) v = rq->activation.min;
    if (v > rq->activation.max) v = rq->activation.max;
    return (int8_t)v;
}

/* The short form with the channel's constants at hand (rq->fast layers only). */
static inline int8_t requantize_short(int32_t acc, int32_t multiplier, int32_t e,
                                      int32_t zero_point, int32_t lo, int32_t hi)
{
    const int32_t x = smmulr((int32_t)((uint32_t)acc << 1), multiplier);
    int32_t v = ((x + ((int32_t)1 << (e - 1)) + (x >> 31)) >> e) + zero_point;
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
}

static tk_status requant_check(const tk_requant *rq, int32_t channels)
{
    if (rq == NULL || rq->quant.multiplier == NULL || rq->quant.shift == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (rq->activation.min < INT8_MIN || rq->activation.max > INT8_MAX ||
        rq->activation.min > rq->activation.max) {
        return TK_ERROR_ARGUMENT;
    }
    return (rq->quant.count == 1 || rq->quant.count == channels) ? TK_OK : TK_ERROR_SIZE;
}

static int dims_ok(const tk_dims *d)
{
    return d != NULL && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

/* ------------------------------------------------------------ convolution as a product */

/* The zero point to subtract, in both halves of a word (for SXTAB16). */
static inline uint32_t minus_zero_point(int32_t zero_point)
{
    const uint32_t m = (uint32_t)(-zero_point) & 0xFFFFu;
    return m | (m << 16);
}

/* Gather the window of output pixel (oy, ox) into `row` (depth4 int8: padding and the
 * values past depth are the zero point, so that they count as 0). */
static void gather(const tk_conv_params *p, const tk_dims *in_d, const int8_t *in,
                   const tk_dims *f_d, int32_t oy, int32_t ox, int8_t zero_point,
                   int32_t depth4, int8_t *row)
{
    const int32_t c = in_d->c, kw = f_d->w;
    const int32_t y0 = oy * p->stride.h - p->padding.h;
    const int32_t x0 = ox * p->stride.w - p->padding.w;
    int8_t *dst = row;
    for (int32_t ky = 0; ky < f_d->h; ky++) {
        const int32_t y = y0 + ky * p->dilation.h;
        if (y < 0 || y >= in_d->h) {
            memset(dst, zero_point, (size_t)kw * c);
            dst += kw * c;
            continue;
        }
        const int8_t *src_row = in + (size_t)y * in_d->w * c;
        if (p->dilation.w == 1 && x0 >= 0 && x0 + kw <= in_d->w) {
            memcpy(dst, src_row + (size_t)x0 * c, (size_t)kw * c);   /* the usual case */
            dst += kw * c;
            continue;
        }
        for (int32_t kx = 0; kx < kw; kx++) {
            const int32_t x = x0 + kx * p->dilation.w;
            if (x < 0 || x >= in_d->w) {
                memset(dst, zero_point, (size_t)c);
            } else {
                memcpy(dst, src_row + (size_t)x * c, (size_t)c);
            }
            dst += c;
        }
    }
    memset(dst, zero_point, (size_t)(row + depth4 - dst));
}

/* Widen depth4 int8 values (minus the zero point) into row r (0 or 1) of the pair
 * buffer: group g of 4 values goes to words 4 g + 2 r (values 0, 2) and 4 g + 2 r + 1
 * (values 1, 3), which is how the filter's SXTB16 pairs its weights. */
static inline void widen(const int8_t *src, int32_t depth4, uint32_t zp2, uint32_t *pair,
                         int r)
{
    uint32_t *dst = pair + 2 * r;
    for (int32_t g = 0; g < depth4; g += 4) {
        const uint32_t v = load32(src + g);
        dst[0] = SXTAB16(zp2, v);
        dst[1] = SXTAB16_ROR8(zp2, v);
        dst += 4;
    }
}

/* The dot products of both rows of the pair buffer with the filters of outputs o and
 * o + 1 (groups of 4 values), added to the accumulators acc[pixel][channel]. */
static inline void product_pair(const uint32_t *px, const uint32_t *pw, int32_t groups,
                                int32_t acc[2][2])
{
    int32_t a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
    /* 17 instructions per 16 multiply-accumulates. */
    const uint32_t *end = px + 4 * groups;
    /* LDM fills registers in ascending order: pin the four that take the pair. */
    register uint32_t x0a __asm__("r8"), x0b __asm__("r9"), x1a __asm__("r10"),
        x1b __asm__("r11");
    uint32_t w, wa;
    __asm__ volatile(
        "1:\n\t"
        "ldm    %[px]!, {%[x0a], %[x0b], %[x1a], %[x1b]}\n\t"
        "ldr    %[w], [%[pw]], #4\n\t"
        "sxtb16 %[wa], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad  %[a00], %[x0a], %[wa], %[a00]\n\t"
        "smlad  %[a10], %[x1a], %[wa], %[a10]\n\t"
        "smlad  %[a00], %[x0b], %[w], %[a00]\n\t"
        "smlad  %[a10], %[x1b], %[w], %[a10]\n\t"
        "ldr    %[w], [%[pw]], #4\n\t"
        "sxtb16 %[wa], %[w]\n\t"
        "sxtb16 %[w], %[w], ror #8\n\t"
        "smlad  %[a01], %[x0a], %[wa], %[a01]\n\t"
        "smlad  %[a11], %[x1a], %[wa], %[a11]\n\t"
        "smlad  %[a01], %[x0b], %[w], %[a01]\n\t"
        "smlad  %[a11], %[x1b], %[w], %[a11]\n\t"
        "cmp    %[px], %[end]\n\t"
        "bne    1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
          [px] "+r"(px), [pw] "+r"(pw), [x0a] "=&r"(x0a), [x0b] "=&r"(x0b),
          [x1a] "=&r"(x1a), [x1b] "=&r"(x1b), [w] "=&r"(w), [wa] "=&r"(wa)
        : [end] "r"(end)
        : "cc", "memory");
#else
    for (int32_t g = 0; g < groups; g++) {
        const uint32_t x0a = px[0], x0b = px[1], x1a = px[2], x1b = px[3];
        const uint32_t w0 = pw[0], w1 = pw[1];
        px += 4;
        pw += 2;
        uint32_t wa = SXTB16(w0), wb = SXTB16_ROR8(w0);
        a00 = SMLAD(x0a, wa, a00);
        a00 = SMLAD(x0b, wb, a00);
        a10 = SMLAD(x1a, wa, a10);
        a10 = SMLAD(x1b, wb, a10);
        wa = SXTB16(w1);
        wb = SXTB16_ROR8(w1);
        a01 = SMLAD(x0a, wa, a01);
        a01 = SMLAD(x0b, wb, a01);
        a11 = SMLAD(x1a, wa, a11);
        a11 = SMLAD(x1b, wb, a11);
    }
#endif
    acc[0][0] = a00;
    acc[0][1] = a01;
    acc[1][0] = a10;
    acc[1][1] = a11;
}

/* Two rows of the pair buffer times every filter: outputs of both pixels (out1 NULL:
 * only the first). An odd last output channel has its weights alone, 4 per word. */
static void product(const uint32_t *pair, int32_t groups, const uint32_t *filter,
                    const int32_t *bias, const tk_requant *rq, int32_t channels,
                    int8_t *out0, int8_t *out1)
{
    int32_t o = 0;
    const uint32_t *pw = filter;
    for (; o + 1 < channels; o += 2) {
        const int32_t b0 = bias != NULL ? bias[o] : 0;
        const int32_t b1 = bias != NULL ? bias[o + 1] : 0;
        int32_t acc[2][2] = {{b0, b1}, {b0, b1}};
        product_pair(pair, pw, groups, acc);
        pw += 2 * groups;
        if (rq->fast && rq->quant.count == channels) {
            const int32_t m0 = rq->quant.multiplier[o], e0 = -rq->quant.shift[o];
            const int32_t m1 = rq->quant.multiplier[o + 1], e1 = -rq->quant.shift[o + 1];
            const int32_t zp = rq->quant.output_zero_point;
            const int32_t lo = rq->activation.min, hi = rq->activation.max;
            out0[o] = requantize_short(acc[0][0], m0, e0, zp, lo, hi);
            out0[o + 1] = requantize_short(acc[0][1], m1, e1, zp, lo, hi);
            if (out1 != NULL) {
                out1[o] = requantize_short(acc[1][0], m0, e0, zp, lo, hi);
                out1[o + 1] = requantize_short(acc[1][1], m1, e1, zp, lo, hi);
            }
            continue;
        }
        out0[o] = requantize_one(acc[0][0], rq, o);
        out0[o + 1] = requantize_one(acc[0][1], rq, o + 1);
        if (out1 != NULL) {
            out1[o] = requantize_one(acc[1][0], rq, o);
            out1[o + 1] = requantize_one(acc[1][1], rq, o + 1);
        }
    }
    if (o < channels) {
        int32_t a0 = bias != NULL ? bias[o] : 0, a1 = a0;
        const uint32_t *px = pair;
        for (int32_t g = 0; g < groups; g++) {
            const uint32_t w = pw[g], wa = SXTB16(w), wb = SXTB16_ROR8(w);
            a0 = SMLAD(px[0], wa, a0);
            a0 = SMLAD(px[1], wb, a0);
            a1 = SMLAD(px[2], wa, a1);
            a1 = SMLAD(px[3], wb, a1);
            px += 4;
        }
        out0[o] = requantize_one(a0, rq, o);
        if (out1 != NULL) out1[o] = requantize_one(a1, rq, o);
    }
}

/* The window of output pixel (oy, ox) where it lies in the input as one run of depth
 * values (a 1x1 window, or whole input rows), or NULL (padding, or scattered). */
static const int8_t *window_in_place(const tk_conv_params *p, const tk_dims *in_d,
                                     const int8_t *in, const tk_dims *f_d, int32_t oy,
                                     int32_t ox)
{
    const int32_t kh = f_d->h, kw = f_d->w, ih = in_d->h, iw = in_d->w;
    const int32_t y0 = oy * p->stride.h - p->padding.h;
    const int32_t x0 = ox * p->stride.w - p->padding.w;
    if (y0 < 0 || x0 < 0 || y0 + (kh - 1) * p->dilation.h >= ih ||
        x0 + (kw - 1) * p->dilation.w >= iw) {
        return NULL;
    }
    const int row_run = kw == 1 || p->dilation.w == 1;        /* one row: contiguous */
    const int whole_rows = x0 == 0 && kw == iw && row_run && p->dilation.h == 1;
    if ((kh == 1 && row_run) || whole_rows) {
        return in + ((size_t)y0 * iw + x0) * in_d->c;
    }
    return NULL;
}

/* One row of input (FULLY_CONNECTED) times every filter: widened as it is read. */
static void product_one_row(const int8_t *in, int32_t groups, uint32_t zp2,
                            const uint32_t *filter, const int32_t *bias,
                            const tk_requant *rq, int32_t channels, int8_t *out)
{
    int32_t o = 0;
    const uint32_t *pw = filter;
    for (; o + 1 < channels; o += 2) {
        int32_t a0 = bias != NULL ? bias[o] : 0, a1 = bias != NULL ? bias[o + 1] : 0;
        for (int32_t g = 0; g < groups; g++) {
            const uint32_t v = load32(in + 4 * g);
            const uint32_t xa = SXTAB16(zp2, v), xb = SXTAB16_ROR8(zp2, v);
            const uint32_t w0 = pw[0], w1 = pw[1];
            pw += 2;
            a0 = SMLAD(xa, SXTB16(w0), a0);
            a0 = SMLAD(xb, SXTB16_ROR8(w0), a0);
            a1 = SMLAD(xa, SXTB16(w1), a1);
            a1 = SMLAD(xb, SXTB16_ROR8(w1), a1);
        }
        out[o] = requantize_one(a0, rq, o);
        out[o + 1] = requantize_one(a1, rq, o + 1);
    }
    if (o < channels) {
        int32_t a0 = bias != NULL ? bias[o] : 0;
        for (int32_t g = 0; g < groups; g++) {
            const uint32_t v = load32(in + 4 * g), w = pw[g];
            a0 = SMLAD(SXTAB16(zp2, v), SXTB16(w), a0);
            a0 = SMLAD(SXTAB16_ROR8(zp2, v), SXTB16_ROR8(w), a0);
        }
        out[o] = requantize_one(a0, rq, o);
    }
}

tk_status tk_fast_conv(const tk_conv_params *params, const tk_requant *rq,
                       const tk_dims *input_dims, const int8_t *input,
                       const tk_dims *filter_dims, const uint32_t *filter,
                       const int32_t *bias, const tk_dims *output_dims, int8_t *output,
                       uint32_t *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!dims_ok(input_dims) || !dims_ok(filter_dims) || !dims_ok(output_dims) ||
        input_dims->n != output_dims->n || filter_dims->n != output_dims->c ||
        filter_dims->c != input_dims->c) {
        return TK_ERROR_SIZE;
    }
    if (params->stride.h < 1 || params->stride.w < 1 || params->dilation.h < 1 ||
        params->dilation.w < 1 || params->padding.h < 0 || params->padding.w < 0) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t oc = output_dims->c;
    tk_status status = requant_check(rq, oc);
    if (status != TK_OK) {
        return status;
    }
    const int32_t depth = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t depth4 = (depth + 3) & ~3;
    const int32_t zero_point = rq->quant.input_zero_point;
    if (zero_point < INT8_MIN || zero_point > INT8_MAX) {
        return TK_ERROR_ARGUMENT;
    }
    const uint32_t zp2 = minus_zero_point(zero_point);
    const int32_t ow = output_dims->w;
    const int32_t pixels = output_dims->h * ow;
    const size_t in_size = (size_t)input_dims->h * input_dims->w * input_dims->c;
    if (pixels > 1 && scratch == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    uint32_t *pair = scratch;                          /* depth4 words */
    int8_t *row = (int8_t *)(scratch + depth4);        /* depth4 bytes, when gathering */
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + (size_t)b * in_size;
        int8_t *out = output + (size_t)b * pixels * oc;
        if (pixels == 1 && (window_in_place(params, input_dims, in, filter_dims, 0, 0) ||
                            scratch == NULL)) {
            const int8_t *src = window_in_place(params, input_dims, in, filter_dims, 0, 0);
            if (src == NULL) {
                return TK_ERROR_ARGUMENT;              /* padding needs the scratch */
            }
            product_one_row(src, depth4 / 4, zp2, filter, bias, rq, oc, out);
            continue;
        }
        for (int32_t p = 0; p < pixels; p += 2) {
            const int two = p + 1 < pixels;
            for (int r = 0; r < 2; r++) {
                const int32_t q = two ? p + r : p;     /* a lone last pixel: twice */
                const int8_t *src = window_in_place(params, input_dims, in, filter_dims,
                                                    q / ow, q % ow);
                if (src == NULL) {
                    gather(params, input_dims, in, filter_dims, q / ow, q % ow,
                           (int8_t)zero_point, depth4, row);
                    src = row;
                }
                widen(src, depth4, zp2, pair, r);
            }
            product(pair, depth4 / 4, filter, bias, rq, oc, out + (size_t)p * oc,
                    two ? out + (size_t)(p + 1) * oc : NULL);
        }
    }
    return TK_OK;
}

/* ------------------------------------------------------------ depthwise */

tk_status tk_fast_depthwise(const tk_conv_params *params, const tk_requant *rq,
                            const tk_dims *input_dims, const int8_t *input,
                            const tk_dims *filter_dims, const uint32_t *filter,
                            const int32_t *bias, const tk_dims *output_dims, int8_t *output)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!dims_ok(input_dims) || !dims_ok(filter_dims) || !dims_ok(output_dims) ||
        input_dims->n != output_dims->n || input_dims->c != output_dims->c ||
        filter_dims->c != output_dims->c || filter_dims->n != 1 || input_dims->c % 4 != 0) {
        return TK_ERROR_SIZE;
    }
    const int32_t c = input_dims->c;
    tk_status status = requant_check(rq, c);
    if (status != TK_OK) {
        return status;
    }
    const int32_t zero_point = rq->quant.input_zero_point;
    if (zero_point < INT8_MIN || zero_point > INT8_MAX) {
        return TK_ERROR_ARGUMENT;
    }
    const uint32_t zp2 = minus_zero_point(zero_point);
    const int32_t ih = input_dims->h, iw = input_dims->w, kh = filter_dims->h,
                  kw = filter_dims->w, dh = params->dilation.h, dw = params->dilation.w;
    const size_t in_size = (size_t)ih * iw * c;
    int8_t *out = output;
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + (size_t)b * in_size;
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            /* the taps inside the input: ky in [ky0, ky1) */
            int32_t ky0 = 0, ky1 = kh;
            while (ky0 < kh && y0 + ky0 * dh < 0) ky0++;
            while (ky1 > ky0 && y0 + (ky1 - 1) * dh >= ih) ky1--;
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx0 = 0, kx1 = kw;
                while (kx0 < kw && x0 + kx0 * dw < 0) kx0++;
                while (kx1 > kx0 && x0 + (kx1 - 1) * dw >= iw) kx1--;
                for (int32_t ch = 0; ch < c; ch += 4) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    if (bias != NULL) {
                        a0 = bias[ch];
                        a1 = bias[ch + 1];
                        a2 = bias[ch + 2];
                        a3 = bias[ch + 3];
                    }
                    for (int32_t ky = ky0; ky < ky1; ky++) {
                        const int8_t *pi = in + ((size_t)(y0 + ky * dh) * iw + x0 + kx0 * dw) * c + ch;
                        const uint32_t *pw = filter + ((size_t)(ky * kw + kx0) * c + ch) / 2;
                        for (int32_t kx = kx0; kx < kx1; kx++) {
                            const uint32_t v = load32(pi);
                            const uint32_t x02 = SXTAB16(zp2, v), x13 = SXTAB16_ROR8(zp2, v);
                            const uint32_t w02 = pw[0], w13 = pw[1];
                            a0 = SMLABB(x02, w02, a0);
                            a2 = SMLATT(x02, w02, a2);
                            a1 = SMLABB(x13, w13, a1);
                            a3 = SMLATT(x13, w13, a3);
                            pi += (size_t)dw * c;
                            pw += (size_t)c / 2;
                        }
                    }
                    if (rq->fast && rq->quant.count == c) {
                        const int32_t *m = rq->quant.multiplier + ch, *sh = rq->quant.shift + ch;
                        const int32_t zp = rq->quant.output_zero_point;
                        const int32_t lo = rq->activation.min, hi = rq->activation.max;
                        store32(out, (uint32_t)(uint8_t)requantize_short(a0, m[0], -sh[0], zp, lo, hi)
                                | (uint32_t)(uint8_t)requantize_short(a1, m[1], -sh[1], zp, lo, hi) << 8
                                | (uint32_t)(uint8_t)requantize_short(a2, m[2], -sh[2], zp, lo, hi) << 16
                                | (uint32_t)(uint8_t)requantize_short(a3, m[3], -sh[3], zp, lo, hi) << 24);
                        out += 4;
                        continue;
                    }
                    const uint32_t packed = (uint32_t)(uint8_t)requantize_one(a0, rq, ch)
                        | (uint32_t)(uint8_t)requantize_one(a1, rq, ch + 1) << 8
                        | (uint32_t)(uint8_t)requantize_one(a2, rq, ch + 2) << 16
                        | (uint32_t)(uint8_t)requantize_one(a3, rq, ch + 3) << 24;
                    store32(out, packed);
                    out += 4;
                }
            }
        }
    }
    return TK_OK;
}

/* ------------------------------------------------------------ pooling */

tk_status tk_fast_max_pool(const tk_pool_params *params, const tk_dims *input_dims,
                           const int8_t *input, const tk_dims *output_dims, int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!dims_ok(input_dims) || !dims_ok(output_dims) || input_dims->n != output_dims->n ||
        input_dims->c != output_dims->c || input_dims->c % 4 != 0) {
        return TK_ERROR_SIZE;
    }
    if (params->filter.h < 1 || params->filter.w < 1 || params->stride.h < 1 ||
        params->stride.w < 1 || params->padding.h < 0 || params->padding.w < 0 ||
        params->activation.min < INT8_MIN || params->activation.max > INT8_MAX ||
        params->activation.min > params->activation.max) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t ih = input_dims->h, iw = input_dims->w, c = input_dims->c;
    const uint32_t lo = (uint8_t)params->activation.min * 0x01010101u;
    const uint32_t hi = (uint8_t)params->activation.max * 0x01010101u;
    const int clamp = params->activation.min > INT8_MIN || params->activation.max < INT8_MAX;
    int8_t *out = output;
    for (int32_t b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + (size_t)b * ih * iw * c;
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            const int32_t ya = y0 < 0 ? 0 : y0;
            const int32_t yb = y0 + params->filter.h > ih ? ih : y0 + params->filter.h;
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                const int32_t xa = x0 < 0 ? 0 : x0;
                const int32_t xb = x0 + params->filter.w > iw ? iw : x0 + params->filter.w;
                if (ya >= yb || xa >= xb) {
                    return TK_ERROR_SIZE;      /* a window entirely in the padding */
                }
                for (int32_t ch = 0; ch < c; ch += 4) {
                    uint32_t best = 0x80808080u;    /* -128 in every byte */
                    for (int32_t y = ya; y < yb; y++) {
                        const int8_t *pi = in + ((size_t)y * iw + xa) * c + ch;
                        for (int32_t x = xa; x < xb; x++) {
                            best = max4(best, load32(pi));
                            pi += c;
                        }
                    }
                    if (clamp) {   /* min(v, hi) = ~max(~v, ~hi): ~ reverses int8 order */
                        best = ~max4(~max4(best, lo), ~hi);
                    }
                    store32(out, best);
                    out += 4;
                }
            }
        }
    }
    return TK_OK;
}
