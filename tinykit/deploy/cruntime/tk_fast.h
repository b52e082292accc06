/* tinykit's fast int8 kernels: the same results as tk_kernels.c (TFLite's reference
 * arithmetic, bit for bit) with the weights re-laid out by the generator
 * (tinykit.deploy.cmodel, kernels="dsp") so that the device does the least work.
 *
 * On a CPU with the DSP extension (Cortex-M4, M7, M33: __ARM_FEATURE_DSP) they use its
 * dual 16-bit multiply-accumulates through ACLE (arm_acle.h: __sxtab16, __smlad,
 * __smlabb, __smlatt, __ssub8, __sel); elsewhere (the host, M0, RISC-V) the same
 * operations are written in portable C, so the host checks the very same layouts.
 *
 * Exactness by construction: accumulators are int32 as in TFLite (the input zero point
 * is subtracted as values are widened, with SXTAB16); requantization is TFLite's
 * MultiplyByQuantizedMultiplier. Where every channel's shift is <= -1 (the generator
 * checks) it takes a shorter, identical form:
 *   SaturatingRoundingDoublingHighMul(acc, m) == SMMLAR(acc, m', acc), m' = 2 m - 2^32
 *     (acc + round(acc * m' / 2^32) = round(2 acc m / 2^32), in 64 bits: any acc)
 *   RoundingDivideByPOT(x, e) + zp == SSAT(((x + (x >> 31)) >> s) + 1 + 2 zp, asr 1)
 *     with s = e - 1 (floor((y + 2^(e-1)) / 2^e) = floor((floor(y / 2^(e-1)) + 1) / 2))
 * so the generator stores m' and s (as int8) for such layers. */
#ifndef TK_FAST_H
#define TK_FAST_H

#include <stdint.h>

#include "tk_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Requantization of the output channels, with the fused activation (16 bytes). */
typedef struct {
    const int32_t *multiplier;   /* per output channel (count of them, or 1 for all): */
    const int8_t *shift;         /*   fast = 0: TFLite's (m, shift); fast = 1: (m', s) */
    int16_t count;
    int8_t input_zero_point;
    int8_t output_zero_point;
    int8_t activation_min;       /* the fused activation's range */
    int8_t activation_max;
    int8_t fast;                 /* 1: the short form above, for every channel */
} tk_requant;

/* A convolution as a matrix product: every output pixel's window ("row" of depth =
 * kernel h * w * input channels values, padding read as the input zero point) times
 * every filter. CONV_2D of any kernel, and FULLY_CONNECTED (a 1x1 convolution over a
 * {1, rows, 1, depth} input).
 *
 * filter: the generator's layout, 32-bit words: for each pair of output channels
 * (o, o + 1), for each group of 4 of the depth4 = depth rounded up to 4 values, the 4
 * int8 weights of o then those of o + 1 (values past depth are 0); an odd last output
 * channel follows alone, 4 weights per word.
 * Windows that lie in the input as one run (1x1, whole rows) are read in place, others
 * gathered with the zero point as padding; the input may be read up to 3 bytes past a
 * window (times weights of 0), so keep tensors in buffers rounded up to 4 bytes.
 * scratch: 5 * depth4 / 4 words (two widened rows and one gathered window); depth4
 * words where every window lies in place (1x1 without padding, FULLY_CONNECTED). */
tk_status tk_fast_conv(const tk_conv_params *params, const tk_requant *rq,
                       const tk_dims *input_dims, const int8_t *input,
                       const tk_dims *filter_dims, const uint32_t *filter,
                       const int32_t *bias, const tk_dims *output_dims, int8_t *output,
                       uint32_t *scratch);

/* tk_fast_conv without scratch, for where there is no room for one: each window row
 * read where it lies in the input and widened as it is read, two output channels at a
 * time (slower than tk_fast_conv where widened windows serve many channels; the
 * generator picks it only without room). Same filter layout and arguments; window rows
 * contiguous (dilation.w 1) and, for windows of more than one row, a multiple of 4
 * values each (kw * c), else TK_ERROR_ARGUMENT. Reads nothing outside the input, and
 * must not write over it. */
tk_status tk_fast_conv_direct(const tk_conv_params *params, const tk_requant *rq,
                              const tk_dims *input_dims, const int8_t *input,
                              const tk_dims *filter_dims, const uint32_t *filter,
                              const int32_t *bias, const tk_dims *output_dims,
                              int8_t *output);

/* DEPTHWISE_CONV_2D with a depth multiplier of 1 and channels a multiple of 4, four
 * channels at a time (3x3 windows inside the input unrolled).
 * filter: int8, word-aligned, for each group of 4 channels its kh * kw taps in order,
 * one word (4 weights) per tap: TFLite's weights, no larger. */
tk_status tk_fast_depthwise(const tk_conv_params *params, const tk_requant *rq,
                            const tk_dims *input_dims, const int8_t *input,
                            const tk_dims *filter_dims, const int8_t *filter,
                            const int32_t *bias, const tk_dims *output_dims, int8_t *output);

/* MAX_POOL_2D and AVERAGE_POOL_2D on channels a multiple of 4, four values at a time
 * (average: windows of at most 256 values, summed in int16 pairs; TFLite's rounding). */
tk_status tk_fast_max_pool(const tk_pool_params *params, const tk_dims *input_dims,
                           const int8_t *input, const tk_dims *output_dims, int8_t *output);
tk_status tk_fast_avg_pool(const tk_pool_params *params, const tk_dims *input_dims,
                           const int8_t *input, const tk_dims *output_dims, int8_t *output);

/* The short form of the requantization from TFLite's multiplier and shift (<= -1),
 * without zero point (exposed for tests). */
int32_t tk_fast_requantize(int32_t acc, int32_t multiplier, int32_t shift);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_FAST_H */
