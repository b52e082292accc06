/* tinykit's portable int8 kernels: the arithmetic of TFLite's int8 reference kernels
 * (per-channel requantization with a fixed-point multiplier and shift), in plain C99,
 * for running a converted model where TFLite Micro is not available (the emulated
 * board, a host check). Part of tinykit; used by tinykit.deploy.cmodel. */
#ifndef TK_KERNELS_H
#define TK_KERNELS_H
#include <stdint.h>

typedef struct {
    int32_t in_zp, out_zp, act_min, act_max;
    const int32_t *mult;   /* one per output channel (or one for all: per_channel = 0) */
    const int32_t *shift;
    int per_channel;
} tk_quant;

/* NHWC tensors, batch 1. Weights OHWI for conv, 1HWC (c = ic * mult) for depthwise. */
void tk_conv2d(const int8_t *in, int ih, int iw, int ic, const int8_t *w, int kh, int kw,
               int oc, const int32_t *bias, int8_t *out, int oh, int ow, int sh, int sw,
               int dh, int dw, int pad_h, int pad_w, const tk_quant *q);
void tk_depthwise_conv2d(const int8_t *in, int ih, int iw, int ic, const int8_t *w, int kh,
                         int kw, int depth_mult, const int32_t *bias, int8_t *out, int oh,
                         int ow, int sh, int sw, int dh, int dw, int pad_h, int pad_w,
                         const tk_quant *q);
void tk_fully_connected(const int8_t *in, int n_in, const int8_t *w, int n_out,
                        const int32_t *bias, int8_t *out, const tk_quant *q);
void tk_max_pool(const int8_t *in, int ih, int iw, int c, int8_t *out, int oh, int ow,
                 int fh, int fw, int sh, int sw, int pad_h, int pad_w, int act_min,
                 int act_max);
void tk_avg_pool(const int8_t *in, int ih, int iw, int c, int8_t *out, int oh, int ow,
                 int fh, int fw, int sh, int sw, int pad_h, int pad_w, int act_min,
                 int act_max);
void tk_softmax(const int8_t *in, int n, float in_scale, int in_zp, int8_t *out,
                float out_scale, int out_zp);
/* int8 -> int8 QUANTIZE: a change of scale and zero point. */
void tk_quantize(const int8_t *in, int n, int8_t *out, const tk_quant *q);
int32_t tk_requantize(int32_t acc, int32_t mult, int32_t shift);

#endif
