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
 * MultiplyByQuantizedMultiplier, in the cheaper but identical form
 *   SaturatingRoundingDoublingHighMul(acc, m) == SMMULR(2 * acc, m)
 *   RoundingDivideByPOT(x, e)                 == (x + 2^(e-1) + (x >> 31)) >> e   (e >= 1)
 * used only for layers where the generator has proved the conditions (every channel's
 * shift <= -1 and |acc| < 2^30 for any input); other layers take the general path. */
#ifndef TK_FAST_H
#define TK_FAST_H

#include <stdint.h>

#include "tk_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Requantization of an output channel, with the fused activation. */
typedef struct {
    tk_quant quant;          /* zero points; multiplier and shift per output channel */
    tk_range activation;
    int32_t fast;            /* 1: the short exact form above applies to every channel */
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
 * scratch: 5 * depth4 / 4 words (two widened rows and one gathered window); NULL for
 * a single output pixel read in place (FULLY_CONNECTED with one row). */
tk_status tk_fast_conv(const tk_conv_params *params, const tk_requant *rq,
                       const tk_dims *input_dims, const int8_t *input,
                       const tk_dims *filter_dims, const uint32_t *filter,
                       const int32_t *bias, const tk_dims *output_dims, int8_t *output,
                       uint32_t *scratch);

/* DEPTHWISE_CONV_2D with a depth multiplier of 1 and channels a multiple of 4.
 * filter: for each tap (ky, kx), for each group of 4 channels c..c+3, two words of
 * int16 pairs: (w[c], w[c+2]) and (w[c+1], w[c+3]) (low half first). */
tk_status tk_fast_depthwise(const tk_conv_params *params, const tk_requant *rq,
                            const tk_dims *input_dims, const int8_t *input,
                            const tk_dims *filter_dims, const uint32_t *filter,
                            const int32_t *bias, const tk_dims *output_dims, int8_t *output);

/* MAX_POOL_2D on channels a multiple of 4: four int8 values per instruction pair. */
tk_status tk_fast_max_pool(const tk_pool_params *params, const tk_dims *input_dims,
                           const int8_t *input, const tk_dims *output_dims, int8_t *output);

/* The fast form of the requantization (exposed for tests). */
int32_t tk_fast_requantize(int32_t acc, int32_t multiplier, int32_t shift);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_FAST_H */
