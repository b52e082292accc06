/* tinykit's fast int8 kernels (see tk_fast.h). */
#include "tk_fast.h"

#include <stddef.h>
#include <string.h>

/* The inner loops in assembly need 13 free registers: only where GCC optimizes for
 * speed (at -O0 or -Os it keeps a frame pointer or spills; the C below is the same). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__) && \
    defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__)
#define TK_FAST_ASM 1
#endif

/* ------------------------------------------------------------ the DSP operations */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

/* b's bytes 0 and 2 (ror 8: 1 and 3), sign-extended, plus a's halves. */
#define SXTAB16(a, b) ((uint32_t)__sxtab16((int16x2_t)(a), (int8x4_t)(b)))
#define SXTAB16_ROR8(a, b) sxtab16_ror8((a), (b))
#define SXTB16(b) ((uint32_t)__sxtb16((int8x4_t)(b)))
#define SXTB16_ROR8(b) sxtb16_ror8(b)
#define SMLAD(a, b, acc) __smlad((int16x2_t)(a), (int16x2_t)(b), (acc))
#define SMLABB(a, b, acc) __smlabb((int32_t)(a), (int32_t)(b), (acc))
#define SMLATT(a, b, acc) __smlatt((int32_t)(a), (int32_t)(b), (acc))

static inline uint32_t sxtb16_ror8(uint32_t b)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(b));
    return r;
}

/* One instruction (the compiler would rotate first). */
static inline uint32_t sxtab16_ror8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* acc + round(a * b / 2^32), from the 64-bit product */
static inline int32_t smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* v / 2 (rounded down) saturated to int8 */
static inline int32_t ssat8_asr1(int32_t v)
{
    int32_t r;
    __asm__("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(v));
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

static inline int32_t smmlar(int32_t a, int32_t b, int32_t acc)
{
    const uint64_t t = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)a * b) + 0x80000000u;
    return (int32_t)(uint32_t)(t >> 32);      /* modulo 2^64, as the instruction */
}

static inline int32_t ssat8_asr1(int32_t v)
{
    v >>= 1;
    return v < INT8_MIN ? INT8_MIN : v > INT8_MAX ? INT8_MAX : v;
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

/* Code that runs once per layer, row or window rather than per multiply-accumulate:
 * compiled for size (flash is the other half of the goal). */
#if defined(__GNUC__) && !defined(__clang__)
#define COLD __attribute__((optimize("Os")))
#else
#define COLD
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
    /* multiplier in [2^30, 2^31), shift <= -1: the generator's constants are
     * m' = 2 m - 2^32 and s = -shift - 1 (tk_fast.h). */
    const int32_t x = smmlar(acc, (int32_t)(2u * (uint32_t)multiplier), acc);
    return (((x + (x >> 31)) >> (-shift - 1)) + 1) >> 1;
}

/* The short form, zero point added and saturated to int8 (c = 1 + 2 zero point). */
static inline int32_t short_form(int32_t acc, int32_t m2, int32_t s, int32_t c)
{
    const int32_t x = smmlar(acc, m2, acc);
    return ssat8_asr1(((x + (x >> 31)) >> s) + c);
}

/* Any layer's requantization of output channel ch, saturated to int8 (the fused
 * activation is applied to packed words afterwards, clamp4). */
__attribute__((noinline)) COLD static int32_t requant(int32_t acc, const tk_requant *rq,
                                                int32_t ch)
{
    const int32_t k = rq->count == 1 ? 0 : ch;
    const int32_t m = rq->multiplier[k], sh = rq->shift[k];
    if (rq->fast) {
        return short_form(acc, m, sh, 1 + 2 * rq->output_zero_point);
    }
    const int32_t v = tk_requantize(acc, m, sh) + rq->output_zero_point;
    return v < INT8_MIN ? INT8_MIN : v > INT8_MAX ? INT8_MAX : v;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
static inline uint32_t pack4(int32_t b0, int32_t b1, int32_t b2, int32_t b3)
{
    uint32_t r = (uint32_t)b0;
    __asm__("bfi %0, %1, #8, #8\n\tbfi %0, %2, #16, #8\n\tbfi %0, %3, #24, #8"
            : "+r"(r) : "r"(b1), "r"(b2), "r"(b3));
    return r;
}
#else
static inline uint32_t pack4(int32_t b0, int32_t b1, int32_t b2, int32_t b3)
{
    return (uint32_t)(uint8_t)b0 | (uint32_t)(uint8_t)b1 << 8 | (uint32_t)(uint8_t)b2 << 16 |
           (uint32_t)(uint8_t)b3 << 24;
}
#endif

/* The activation's range on four int8 values (lo4, hi4: the bounds in every byte). */
static inline uint32_t clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    return ~max4(~max4(v, lo4), ~hi4);    /* ~ reverses the order of int8 values */
}

static inline uint32_t bytes4(int32_t v)
{
    return (uint8_t)v * 0x01010101u;
}

COLD static tk_status requant_check(const tk_requant *rq, int32_t channels)
{
    if (rq == NULL || rq->multiplier == NULL || rq->shift == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (rq->activation_min > rq->activation_max) {
        return TK_ERROR_ARGUMENT;
    }
    return (rq->count == 1 || rq->count == channels) ? TK_OK : TK_ERROR_SIZE;
}

/* ------------------------------------------------------------ convolution as a product */

/* The zero point to subtract, in both halves of a word (for SXTAB16). */
static inline uint32_t minus_zero_point(int32_t zero_point)
{
    const uint32_t m = (uint32_t)(-zero_point) & 0xFFFFu;
    return m | (m << 16);
}

/* The window of output pixel (oy, ox): in place where it lies in the input as one run
 * of depth values (a 1x1 window, or whole input rows), else gathered into `row` (depth4
 * int8: padding and the values past depth are the zero point, so that they count as 0).
 * Not inlined: its frame is gone when tk_fast_conv calls product (less stack, and
 * less code). */
__attribute__((noinline)) COLD static const int8_t *window(const tk_conv_params *p, const tk_dims *in_d,
                                 const int8_t *in, const tk_dims *f_d, int32_t oy,
                                 int32_t ox, int8_t zero_point, int32_t depth4, int8_t *row)
{
    const int32_t c = in_d->c, kh = f_d->h, kw = f_d->w, ih = in_d->h, iw = in_d->w;
    const int32_t y0 = oy * p->stride.h - p->padding.h;
    const int32_t x0 = ox * p->stride.w - p->padding.w;
    const int row_run = kw == 1 || p->dilation.w == 1;        /* one row: contiguous */
    if (y0 >= 0 && x0 >= 0 && y0 + (kh - 1) * p->dilation.h < ih &&
        x0 + (kw - 1) * p->dilation.w < iw &&
        ((kh == 1 && row_run) || (x0 == 0 && kw == iw && row_run && p->dilation.h == 1))) {
        return in + ((size_t)y0 * iw + x0) * c;
    }
    const int32_t run = kw * c;              /* a window row, when it lies in the input */
    const int whole = p->dilation.w == 1 && x0 >= 0 && x0 + kw <= iw;
    int8_t *dst = row;
    for (int32_t ky = 0; ky < kh; ky++) {
        const int32_t y = y0 + ky * p->dilation.h;
        if (whole && y >= 0 && y < ih) {
            const int8_t *src = in + ((size_t)y * iw + x0) * c;
            int32_t i = 0;
            for (; i + 4 <= run; i += 4) store32(dst + i, load32(src + i));
            for (; i < run; i++) dst[i] = src[i];
            dst += run;
            continue;
        }
        for (int32_t kx = 0; kx < kw; kx++) {
            const int32_t x = x0 + kx * p->dilation.w;
            const int8_t *src = in + ((size_t)y * iw + x) * c;
            const int inside = y >= 0 && y < ih && x >= 0 && x < iw;
            for (int32_t i = 0; i < c; i++) {
                *dst++ = inside ? src[i] : zero_point;
            }
        }
    }
    while (dst < row + depth4) {
        *dst++ = zero_point;
    }
    return row;
}

/* Widen depth4 int8 values (minus the zero point) into row r (0 or 1) of the pair
 * buffer: group g of 4 values goes to words 4 g + 2 r (values 0, 2) and 4 g + 2 r + 1
 * (values 1, 3), which is how the filter's SXTB16 pairs its weights. */
__attribute__((always_inline)) static inline void widen(const int8_t *src, int32_t depth4, uint32_t zp2, uint32_t *pair,
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
#ifdef TK_FAST_ASM
#define PAIR_GROUP \
        "ldm    %[px]!, {%[x0a], %[x0b], %[x1a], %[x1b]}\n\t" \
        "ldr    %[w], [%[pw]], #4\n\t" \
        "sxtb16 %[wa], %[w]\n\t" \
        "sxtb16 %[w], %[w], ror #8\n\t" \
        "smlad  %[a00], %[x0a], %[wa], %[a00]\n\t" \
        "smlad  %[a10], %[x1a], %[wa], %[a10]\n\t" \
        "smlad  %[a00], %[x0b], %[w], %[a00]\n\t" \
        "smlad  %[a10], %[x1b], %[w], %[a10]\n\t" \
        "ldr    %[w], [%[pw]], #4\n\t" \
        "sxtb16 %[wa], %[w]\n\t" \
        "sxtb16 %[w], %[w], ror #8\n\t" \
        "smlad  %[a01], %[x0a], %[wa], %[a01]\n\t" \
        "smlad  %[a11], %[x1a], %[wa], %[a11]\n\t" \
        "smlad  %[a01], %[x0b], %[w], %[a01]\n\t" \
        "smlad  %[a11], %[x1b], %[w], %[a11]\n\t"
    /* 16 multiply-accumulates in 16 instructions and a half: two groups per loop, an
     * odd count entering at the second. */
    const uint32_t *end = px + 4 * groups;
    /* LDM fills registers in ascending order: pin the four that take the pair. */
    register uint32_t x0a __asm__("r8"), x0b __asm__("r9"), x1a __asm__("r10"),
        x1b __asm__("r11");
    uint32_t w, wa;
    __asm__ volatile(
        "sub    %[w], %[end], %[px]\n\t"
        "tst    %[w], #16\n\t"
        "bne    2f\n\t"
        "1:\n\t"
        PAIR_GROUP
        "2:\n\t"
        PAIR_GROUP
        "cmp    %[px], %[end]\n\t"
        "bne    1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
          [px] "+r"(px), [pw] "+r"(pw), [x0a] "=&r"(x0a), [x0b] "=&r"(x0b),
          [x1a] "=&r"(x1a), [x1b] "=&r"(x1b), [w] "=&r"(w), [wa] "=&r"(wa)
        : [end] "r"(end)
        : "cc", "memory");
#undef PAIR_GROUP
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


static inline void store16(int8_t *p, uint32_t v)
{
    const uint16_t h = (uint16_t)v;
    memcpy(p, &h, 2);
}

/* Two rows of the pair buffer times every pair of filters: outputs of both pixels (out1
 * NULL: only the first); an odd last output channel is product_odd's. */
__attribute__((noinline)) static void product(const uint32_t *pair, int32_t groups, const uint32_t *filter,
                    const int32_t *bias, const tk_requant *rq, int32_t channels,
                    int8_t *out0, int8_t *out1)
{
    const uint32_t lo4 = bytes4(rq->activation_min), hi4 = bytes4(rq->activation_max);
    const int clamp = rq->activation_min > INT8_MIN || rq->activation_max < INT8_MAX;
    const int fast = rq->fast;
    const int32_t rc = 1 + 2 * rq->output_zero_point;
    const int32_t each = rq->count == 1 ? 0 : -1;      /* per channel: every bit of o */
    const uint32_t *pw = filter;
    int32_t o = 0;
    for (; o + 1 < channels; o += 2) {
        const int32_t b0 = bias != NULL ? bias[o] : 0;
        const int32_t b1 = bias != NULL ? bias[o + 1] : 0;
        int32_t acc[2][2] = {{b0, b1}, {b0, b1}};
        product_pair(pair, pw, groups, acc);
        pw += 2 * groups;
        uint32_t v;
        if (fast) {
            const int32_t k0 = o & each, k1 = (o + 1) & each;
            const int32_t m0 = rq->multiplier[k0], s0 = rq->shift[k0];
            const int32_t m1 = rq->multiplier[k1], s1 = rq->shift[k1];
            v = pack4(short_form(acc[0][0], m0, s0, rc), short_form(acc[0][1], m1, s1, rc),
                      short_form(acc[1][0], m0, s0, rc), short_form(acc[1][1], m1, s1, rc));
        } else {
            v = pack4(requant(acc[0][0], rq, o), requant(acc[0][1], rq, o + 1),
                      requant(acc[1][0], rq, o), requant(acc[1][1], rq, o + 1));
        }
        if (clamp) v = clamp4(v, lo4, hi4);
        store16(out0 + o, v);
        if (out1 != NULL) store16(out1 + o, v >> 16);
    }
}

/* An odd last output channel o: its weights alone, 4 per word. Apart from product, so
 * that product's frame is gone when this one calls requant (less stack). */
__attribute__((noinline)) COLD static void product_odd(const uint32_t *pair, int32_t groups,
                                                      const uint32_t *pw, const int32_t *bias,
                                                      const tk_requant *rq, int32_t o,
                                                      int8_t *out0, int8_t *out1)
{
    int32_t a0 = bias != NULL ? bias[o] : 0, a1 = a0;
    for (int32_t g = 0; g < groups; g++) {
        const uint32_t w = pw[g], wa = SXTB16(w), wb = SXTB16_ROR8(w);
        a0 = SMLAD(pair[4 * g], wa, a0);
        a0 = SMLAD(pair[4 * g + 1], wb, a0);
        a1 = SMLAD(pair[4 * g + 2], wa, a1);
        a1 = SMLAD(pair[4 * g + 3], wb, a1);
    }
    const uint32_t v = clamp4(pack4(requant(a0, rq, o), requant(a1, rq, o), 0, 0),
                              bytes4(rq->activation_min), bytes4(rq->activation_max));
    out0[o] = (int8_t)v;
    if (out1 != NULL) out1[o] = (int8_t)(v >> 8);
}

/* The checks of both convolutions (tk_fast_conv, tk_fast_conv_direct). */
COLD static tk_status conv_check(const tk_conv_params *params, const tk_requant *rq,
                                 const tk_dims *input_dims, const int8_t *input,
                                 const tk_dims *filter_dims, const uint32_t *filter,
                                 const tk_dims *output_dims, int8_t *output)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(input_dims) || !tk_dims_ok(filter_dims) || !tk_dims_ok(output_dims) ||
        input_dims->n != output_dims->n || filter_dims->n != output_dims->c ||
        filter_dims->c != input_dims->c) {
        return TK_ERROR_SIZE;
    }
    if (params->stride.h < 1 || params->stride.w < 1 || params->dilation.h < 1 ||
        params->dilation.w < 1 || params->padding.h < 0 || params->padding.w < 0) {
        return TK_ERROR_ARGUMENT;
    }
    return requant_check(rq, output_dims->c);
}

COLD tk_status tk_fast_conv(const tk_conv_params *params, const tk_requant *rq,
                            const tk_dims *input_dims, const int8_t *input,
                            const tk_dims *filter_dims, const uint32_t *filter,
                            const int32_t *bias, const tk_dims *output_dims,
                            int8_t *output, uint32_t *scratch)
{
    const tk_status status = conv_check(params, rq, input_dims, input, filter_dims, filter,
                                        output_dims, output);
    if (status != TK_OK || scratch == NULL) {
        return status != TK_OK ? status : TK_ERROR_ARGUMENT;
    }
    const int32_t oc = output_dims->c;
    const int32_t depth = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t depth4 = (depth + 3) & ~3;
    const int32_t zero_point = rq->input_zero_point;
    const uint32_t zp2 = minus_zero_point(zero_point);
    const int32_t ow = output_dims->w, oh = output_dims->h;
    const int32_t pixels = input_dims->n * oh * ow;      /* of every batch, in order */
    const size_t in_size = (size_t)input_dims->h * input_dims->w * input_dims->c;
    uint32_t *pair = scratch;                          /* depth4 words */
    int8_t *row = (int8_t *)(scratch + depth4);        /* depth4 bytes, when gathering */
    for (int32_t p = 0; p < pixels; p += 2) {
        const int two = p + 1 < pixels;
        for (int r = 0; r < 2; r++) {
            const int32_t q = two ? p + r : p;         /* a lone last pixel: twice */
            const int32_t b = q / (oh * ow), yx = q % (oh * ow);
            widen(window(params, input_dims, input + b * in_size, filter_dims, yx / ow,
                         yx % ow, (int8_t)zero_point, depth4, row), depth4, zp2, pair, r);
        }
        int8_t *out0 = output + (size_t)p * oc, *out1 = two ? out0 + oc : NULL;
        product(pair, depth4 / 4, filter, bias, rq, oc, out0, out1);
        if (oc & 1) {
            product_odd(pair, depth4 / 4, filter + (size_t)(oc - 1) * (depth4 / 4), bias, rq,
                        oc - 1, out0, out1);
        }
    }
    return TK_OK;
}

/* Four values of a window row (v, int8) times the weights of a pair of outputs (pw[0],
 * pw[1]; one output: step 1, its word twice), added to acc. */
static inline void group_pair(uint32_t v, const uint32_t *pw, int32_t step, uint32_t zp2,
                              int32_t acc[2])
{
    const uint32_t xa = SXTAB16(zp2, v), xb = SXTAB16_ROR8(zp2, v);
    const uint32_t w0 = pw[0], w1 = pw[step - 1];
    acc[0] = SMLAD(xb, SXTB16_ROR8(w0), SMLAD(xa, SXTB16(w0), acc[0]));
    acc[1] = SMLAD(xb, SXTB16_ROR8(w1), SMLAD(xa, SXTB16(w1), acc[1]));
}

/* The window of one output pixel of tk_fast_conv_direct. */
typedef struct {
    const int8_t *in;        /* value lo of its first row (the first in the input) */
    ptrdiff_t row_step;      /* input values from one window row to the next */
    int32_t rows;            /* the window rows in the input */
    int32_t groups;          /* groups of 4 values per window row (the filter's) */
    int32_t lo, hi;          /* the values of a window row in the input: [lo, hi) */
    uint32_t zp2;            /* minus the input zero point, in both halves */
    int32_t acc[2];          /* the accumulators of the pair of outputs at hand */
} conv_direct;

/* The groups of the window wholly in the input times the weights of a pair of outputs
 * (their rows from pw), added to acc: one loop over the groups of all rows, stepping to
 * the next row after each n. */
__attribute__((noinline)) static void rows_pair(conv_direct *d, const uint32_t *pw)
{
    int32_t acc[2] = {d->acc[0], d->acc[1]};
    const uint32_t zp2 = d->zp2;
    const int32_t ga = (d->lo + 3) / 4, n = d->hi / 4 - ga;    /* the groups wholly in */
    const ptrdiff_t src_skip = d->row_step - 4 * n;
    const int32_t w_skip = 2 * (d->groups - n);
    const int8_t *src = d->in + (4 * ga - d->lo);
    pw += 2 * ga;
    for (int32_t k = n > 0 ? d->rows * n : 0, left = n; k > 0; k--) {
        group_pair(load32(src), pw, 2, zp2, acc);
        src += 4;
        pw += 2;
        if (--left == 0) {
            left = n;
            src += src_skip;
            pw += w_skip;
        }
    }
    d->acc[0] = acc[0];
    d->acc[1] = acc[1];
}

/* The group that the edge of the input cuts on the left (left = 1) or on the right of a
 * window with 4 values or more of each row in the input, down the rows: the values in
 * the input with one load, shifted into place, the zero point for the padding. */
__attribute__((noinline)) COLD static void cut_pair(conv_direct *d, const uint32_t *pw, int left)
{
    const int32_t cut = left ? d->lo : d->hi, s = 8 * (cut % 4);
    const uint32_t zp4 = bytes4(-(int32_t)d->zp2);
    const int32_t a = left ? s : 0, b = left ? 0 : 32 - s;
    const uint32_t m = left ? zp4 >> (32 - s) : zp4 << s;
    const int8_t *src = d->in + ((left ? cut : cut - 4) - d->lo);
    int32_t acc[2] = {d->acc[0], d->acc[1]};
    pw += cut / 4 * 2;
    for (int32_t r = d->rows; r > 0; r--, src += d->row_step, pw += 2 * d->groups) {
        group_pair(load32(src) << a >> b | m, pw, 2, d->zp2, acc);
    }
    d->acc[0] = acc[0];
    d->acc[1] = acc[1];
}

/* The groups of the window that the edge of the input cuts (values outside [lo, hi) are
 * padding: the zero point, which counts 0); for a lone last output channel (step 1, its
 * word for both accumulators), every group. */
__attribute__((noinline)) COLD static void edges_pair(conv_direct *d, const uint32_t *pw,
                                                      int32_t step)
{
    const int8_t *row = d->in;
    for (int32_t r = 0; r < d->rows; r++, row += d->row_step) {
        for (int32_t i = 0; i < 4 * d->groups; i += 4, pw += step) {
            const int inside = i >= d->lo && i + 4 <= d->hi;
            if (inside ? step == 2 : i >= d->hi || i + 4 <= d->lo) {
                continue;               /* rows_pair's, or all padding */
            }
            uint32_t v = 0;
            for (int32_t k = i + 3; k >= i; k--) {
                v = v << 8 | (k >= d->lo && k < d->hi ? (uint8_t)row[k - d->lo]
                                                      : (uint8_t)-(int32_t)d->zp2);
            }
            group_pair(v, pw, step, d->zp2, d->acc);
        }
    }
}

/* Output pixel q: its window, then its outputs two channels at a time (a lone last one:
 * step 1). */
__attribute__((noinline)) COLD static void pixel_direct(const tk_conv_params *p,
        const tk_requant *rq, const tk_dims *input_dims, const int8_t *input,
        const tk_dims *filter_dims, const uint32_t *filter, const int32_t *bias,
        const tk_dims *output_dims, int8_t *output, int32_t q)
{
    const int32_t c = input_dims->c, ih = input_dims->h, iw = input_dims->w;
    const int32_t kh = filter_dims->h, kw = filter_dims->w, dh = p->dilation.h;
    const int32_t ow = output_dims->w, pixels = output_dims->h * ow, oc = output_dims->c;
    const int32_t y0 = q % pixels / ow * p->stride.h - p->padding.h;
    const int32_t x0 = q % ow * p->stride.w - p->padding.w;
    int32_t ra = 0, rb = kh;                     /* the window rows in the input */
    while (ra < kh && y0 + ra * dh < 0) ra++;
    while (rb > ra && y0 + (rb - 1) * dh >= ih) rb--;
    conv_direct d;
    d.rows = rb - ra;
    d.groups = (kw * c + 3) / 4;
    d.row_step = (ptrdiff_t)dh * iw * c;
    d.zp2 = minus_zero_point(rq->input_zero_point);
    d.lo = x0 < 0 ? -x0 * c : 0;
    d.hi = (x0 + kw > iw ? iw - x0 : kw) * c;
    /* Only values in [lo, hi) of the window are read: no pointer is formed before the
     * row when the window starts in the left padding. */
    d.in = input + (size_t)(q / pixels) * ih * iw * c + (size_t)(y0 + ra * dh) * iw * c;
    d.in += x0 < 0 ? 0 : x0 * c;
    output += (size_t)q * oc;
    for (int32_t o = 0; o < oc; o += 2) {
        const int32_t step = o + 1 < oc ? 2 : 1;
        const uint32_t *pw = filter + (size_t)(o * kh + ra * step) * d.groups;
        d.acc[0] = bias != NULL ? bias[o] : 0;
        d.acc[1] = bias != NULL ? bias[o + step - 1] : 0;
        const int cuts = d.lo % 4 != 0 || d.hi % 4 != 0, wide = d.hi - d.lo >= 4;
        if (step == 2) {
            rows_pair(&d, pw);
            if (wide && d.lo % 4 != 0) cut_pair(&d, pw, 1);
            if (wide && d.hi % 4 != 0) cut_pair(&d, pw, 0);
        }
        if (step == 1 || (cuts && !wide)) {
            edges_pair(&d, pw, step);
        }
        const uint32_t v = clamp4(pack4(requant(d.acc[0], rq, o),
                                        requant(d.acc[1], rq, o + step - 1), 0, 0),
                                  bytes4(rq->activation_min), bytes4(rq->activation_max));
        output[o] = (int8_t)v;
        if (step == 2) output[o + 1] = (int8_t)(v >> 8);
    }
}

/* Each window row read where it lies, widened as it is read, two output channels at a
 * time; rows and groups in the padding skipped. */
COLD tk_status tk_fast_conv_direct(const tk_conv_params *params, const tk_requant *rq,
                                   const tk_dims *input_dims, const int8_t *input,
                                   const tk_dims *filter_dims, const uint32_t *filter,
                                   const int32_t *bias, const tk_dims *output_dims,
                                   int8_t *output)
{
    const tk_status status = conv_check(params, rq, input_dims, input, filter_dims, filter,
                                        output_dims, output);
    if (status != TK_OK) {
        return status;
    }
    if (params->dilation.w != 1 || (filter_dims->h > 1 && filter_dims->w * input_dims->c % 4)) {
        return TK_ERROR_ARGUMENT;
    }
    for (int32_t q = 0; q < output_dims->n * output_dims->h * output_dims->w; q++) {
        pixel_direct(params, rq, input_dims, input, filter_dims, filter, bias, output_dims,
                     output, q);
    }
    return TK_OK;
}

/* ------------------------------------------------------------ depthwise */

/* One tap of four channels: the weights' word unpacked (channels 0 and 2, 1 and 3), the
 * input's word unpacked less the zero point, four multiply-accumulates. */
#define DW_TAP(pi, pw) do { \
        const uint32_t w_ = load32(pw), v_ = load32(pi); \
        const uint32_t wa_ = SXTB16(w_), wb_ = SXTB16_ROR8(w_); \
        const uint32_t xa_ = SXTAB16(zp2, v_), xb_ = SXTAB16_ROR8(zp2, v_); \
        a0 = SMLABB(xa_, wa_, a0); \
        a2 = SMLATT(xa_, wa_, a2); \
        a1 = SMLABB(xb_, wb_, a1); \
        a3 = SMLATT(xb_, wb_, a3); \
    } while (0)

/* The nine taps of a 3x3 window inside the input, four channels: input steps `tap`
 * (along a row) and `row`, weights one word per tap (the generator's order). */
static inline void dw_3x3(const int8_t *pi, const int8_t *pw, int32_t tap, int32_t row,
                          uint32_t zp2, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#ifdef TK_FAST_ASM
    uint32_t w, v, t0, t1;
#define DW_ASM_TAP(vo) \
        "ldr    %[w], [%[pw]], #4\n\t" \
        "ldr    %[v], " vo "\n\t" \
        "sxtb16 %[t0], %[w]\n\t" \
        "sxtab16 %[t1], %[zp2], %[v]\n\t" \
        "smlabb %[a0], %[t1], %[t0], %[a0]\n\t" \
        "smlatt %[a2], %[t1], %[t0], %[a2]\n\t" \
        "sxtb16 %[w], %[w], ror #8\n\t" \
        "sxtab16 %[v], %[zp2], %[v], ror #8\n\t" \
        "smlabb %[a1], %[v], %[w], %[a1]\n\t" \
        "smlatt %[a3], %[v], %[w], %[a3]\n\t"
    uint32_t rows = 3;
    __asm__("1:\n\t"
            DW_ASM_TAP("[%[pi]]")
            DW_ASM_TAP("[%[pi], %[tap]]")
            DW_ASM_TAP("[%[pi], %[tap], lsl #1]")
            "ldr    %[w], %[row]\n\t"          /* 13 registers: the step from memory */
            "add    %[pi], %[pi], %[w]\n\t"
            "subs   %[rows], %[rows], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [pi] "+r"(pi),
              [pw] "+r"(pw), [w] "=&r"(w), [v] "=&r"(v), [t0] "=&r"(t0), [t1] "=&r"(t1),
              [rows] "+r"(rows)
            : [tap] "r"(tap), [row] "m"(row), [zp2] "r"(zp2)
            : "cc", "memory");
#undef DW_ASM_TAP
#else
    for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
            DW_TAP(pi + ky * row + kx * tap, pw + 4 * (3 * ky + kx));
        }
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* A depthwise layer's constants, for the pixels' inner loops. */
typedef struct {
    const tk_requant *rq;
    const int32_t *bias;
    const int8_t *filter;
    const tk_conv_params *params;
    const int8_t *input;          /* of the batch being computed */
    int32_t c, taps_per_group, kh, kw, ih, iw, tap, row;
    uint32_t zp2, lo4, hi4;
} dw_layer;

/* Every channel of output pixel (oy, ox): the taps of its window inside the input, rows
 * ky0 to ky1 and columns kx0 to kx1 (full: the 3x3 window inside the input). The
 * window is found here, not in the caller, so that the caller's loop keeps few values
 * (a smaller stack). */
__attribute__((noinline)) static void dw_pixel(const dw_layer *k, int32_t oy, int32_t ox,
                                               int8_t *out)
{
    const tk_conv_params *p = k->params;
    const int32_t kh = k->kh, kw = k->kw, dh = p->dilation.h, dw = p->dilation.w;
    const int32_t y0 = oy * p->stride.h - p->padding.h, x0 = ox * p->stride.w - p->padding.w;
    int32_t ky0 = 0, ky1 = kh, kx0 = 0, kx1 = kw;
    while (ky0 < kh && y0 + ky0 * dh < 0) ky0++;
    while (ky1 > ky0 && y0 + (ky1 - 1) * dh >= k->ih) ky1--;
    while (kx0 < kw && x0 + kx0 * dw < 0) kx0++;
    while (kx1 > kx0 && x0 + (kx1 - 1) * dw >= k->iw) kx1--;
    const int32_t rows = ky1 - ky0, taps = kx1 - kx0;
    const int full = kh == 3 && kw == 3 && taps == 3 && rows == 3;
    const int8_t *pi0 = k->input + ((size_t)(y0 + ky0 * dh) * k->iw + x0 + kx0 * dw) * k->c;
    const int32_t w0 = (ky0 * kw + kx0) * 4;
    const tk_requant *rq = k->rq;
    const uint32_t zp2 = k->zp2;
    const int fast = rq->fast && rq->count != 1;
    const int clamp = rq->activation_min > INT8_MIN || rq->activation_max < INT8_MAX;
    const int32_t rc = 1 + 2 * rq->output_zero_point;
    const int8_t *pw = k->filter + w0;
    for (int32_t ch = 0; ch < k->c; ch += 4, pw += k->taps_per_group) {
        int32_t acc[4] = {0, 0, 0, 0};
        if (k->bias != NULL) {
            memcpy(acc, k->bias + ch, sizeof acc);
        }
        const int8_t *pi = pi0 + ch;
        if (full) {
            dw_3x3(pi, pw, k->tap, k->row, zp2, acc);
        } else {
            int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
            const int8_t *pwr = pw;
            for (int32_t r = 0; r < rows; r++) {
                for (int32_t t = 0; t < taps; t++) {
                    DW_TAP(pi + t * k->tap, pwr + 4 * t);
                }
                pi += k->row;
                pwr += 4 * k->kw;
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
        }
        uint32_t v;
        if (fast) {
            const int32_t *m = rq->multiplier + ch;
            const int8_t *s = rq->shift + ch;
            v = pack4(short_form(acc[0], m[0], s[0], rc), short_form(acc[1], m[1], s[1], rc),
                      short_form(acc[2], m[2], s[2], rc), short_form(acc[3], m[3], s[3], rc));
        } else {
            v = pack4(requant(acc[0], rq, ch), requant(acc[1], rq, ch + 1),
                      requant(acc[2], rq, ch + 2), requant(acc[3], rq, ch + 3));
        }
        store32(out + ch, clamp ? clamp4(v, k->lo4, k->hi4) : v);
    }
}

COLD tk_status tk_fast_depthwise(const tk_conv_params *params, const tk_requant *rq,
                                 const tk_dims *input_dims, const int8_t *input,
                                 const tk_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias, const tk_dims *output_dims,
                                 int8_t *output)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(input_dims) || !tk_dims_ok(filter_dims) || !tk_dims_ok(output_dims) ||
        input_dims->n != output_dims->n || input_dims->c != output_dims->c ||
        filter_dims->c != output_dims->c || filter_dims->n != 1 || input_dims->c % 4 != 0) {
        return TK_ERROR_SIZE;
    }
    const int32_t c = input_dims->c;
    tk_status status = requant_check(rq, c);
    if (status != TK_OK) {
        return status;
    }
    const int32_t ih = input_dims->h, iw = input_dims->w, kh = filter_dims->h,
                  kw = filter_dims->w;
    dw_layer k = {rq, bias, filter, params, input, c, 4 * kh * kw, kh, kw, ih, iw,
                  params->dilation.w * c, params->dilation.h * iw * c,
                  minus_zero_point(rq->input_zero_point), bytes4(rq->activation_min),
                  bytes4(rq->activation_max)};
    int8_t *out = output;
    for (int32_t b = 0; b < input_dims->n; b++, k.input += (size_t)ih * iw * c) {
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            for (int32_t ox = 0; ox < output_dims->w; ox++, out += c) {
                dw_pixel(&k, oy, ox, out);
            }
        }
    }
    return TK_OK;
}

/* ------------------------------------------------------------ pooling */

/* The checks both poolings share; the window of output (oy, ox) as rows [ya, yb) and
 * columns [xa, xb) of the input. */
__attribute__((always_inline)) COLD static inline tk_status pool_check(const tk_pool_params *p, const tk_dims *in_d,
                                 const int8_t *input, const tk_dims *out_d,
                                 const int8_t *output, int32_t max_window)
{
    if (p == NULL || input == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (!tk_dims_ok(in_d) || !tk_dims_ok(out_d) || in_d->n != out_d->n || in_d->c != out_d->c ||
        in_d->c % 4 != 0) {
        return TK_ERROR_SIZE;
    }
    if (p->filter.h < 1 || p->filter.w < 1 || p->stride.h < 1 || p->stride.w < 1 ||
        p->padding.h < 0 || p->padding.w < 0 || p->filter.h * p->filter.w > max_window ||
        !tk_range_ok(&p->activation)) {
        return TK_ERROR_ARGUMENT;
    }
    return TK_OK;
}

static inline void window_range(int32_t o, int32_t stride, int32_t pad, int32_t k,
                                int32_t size, int32_t *a, int32_t *b)
{
    const int32_t x0 = o * stride - pad;
    *a = x0 < 0 ? 0 : x0;
    *b = x0 + k > size ? size : x0 + k;
}

/* Both poolings, four channels at a time: the bytewise maximum (max4), or sums of int16
 * pairs (SXTAB16; exact for up to 256 values) and TFLite's rounded division. Two copies
 * of the loops, so that a model links only the one it uses. */
#define POOL_LOOPS(INIT, STEP, FINISH) do { \
        const int32_t ih = input_dims->h, iw = input_dims->w, c = input_dims->c; \
        const uint32_t lo4 = bytes4(params->activation.min); \
        const uint32_t hi4 = bytes4(params->activation.max); \
        const int8_t *in = input; \
        int8_t *out = output; \
        for (int32_t b = 0; b < input_dims->n; b++, in += (size_t)ih * iw * c) { \
            for (int32_t oy = 0; oy < output_dims->h; oy++) { \
                int32_t ya, yb, xa, xb; \
                window_range(oy, params->stride.h, params->padding.h, params->filter.h, \
                             ih, &ya, &yb); \
                for (int32_t ox = 0; ox < output_dims->w; ox++) { \
                    window_range(ox, params->stride.w, params->padding.w, \
                                 params->filter.w, iw, &xa, &xb); \
                    if (ya >= yb || xa >= xb) { \
                        return TK_ERROR_SIZE;  /* a window entirely in the padding */ \
                    } \
                    for (int32_t ch = 0; ch < c; ch += 4, out += 4) { \
                        INIT; \
                        for (int32_t y = ya; y < yb; y++) { \
                            const int8_t *pi = in + ((size_t)y * iw + xa) * c + ch; \
                            for (int32_t x = xa; x < xb; x++, pi += c) { \
                                const uint32_t v = load32(pi); \
                                STEP; \
                            } \
                        } \
                        FINISH; \
                        store32(out, clamp4(best, lo4, hi4)); \
                    } \
                } \
            } \
        } \
    } while (0)

/* TFLite's average of n values from their sum: rounded half away from zero. */
COLD static uint32_t averages(uint32_t s02, uint32_t s13, int32_t n)
{
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        const int32_t sum = (int16_t)((i & 1 ? s13 : s02) >> (8 * (i & 2)));
        r |= (uint32_t)(uint8_t)((sum > 0 ? sum + n / 2 : sum - n / 2) / n) << 8 * i;
    }
    return r;
}

COLD tk_status tk_fast_max_pool(const tk_pool_params *params, const tk_dims *input_dims,
                                const int8_t *input, const tk_dims *output_dims,
                                int8_t *output)
{
    const tk_status status = pool_check(params, input_dims, input, output_dims, output,
                                        INT32_MAX);
    if (status != TK_OK) {
        return status;
    }
    POOL_LOOPS(uint32_t best = 0x80808080u,              /* -128 in every byte */
               best = max4(best, v), (void)0);
    return TK_OK;
}

COLD tk_status tk_fast_avg_pool(const tk_pool_params *params, const tk_dims *input_dims,
                                const int8_t *input, const tk_dims *output_dims,
                                int8_t *output)
{
    const tk_status status = pool_check(params, input_dims, input, output_dims, output, 256);
    if (status != TK_OK) {
        return status;
    }
    POOL_LOOPS(uint32_t s02 = 0; uint32_t s13 = 0; uint32_t best,
               s02 = SXTAB16(s02, v); s13 = SXTAB16_ROR8(s13, v),
               best = averages(s02, s13, (yb - ya) * (xb - xa)));
    return TK_OK;
}
