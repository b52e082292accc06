/* tinykit's audio front end: 16-bit audio in, the int8 features a keyword model reads
 * out, computed as tinykit.features computes them for training (librosa's framing,
 * periodic Hann window, |rfft|^2, Slaney mel filterbank, 10 * log10(max(mel, amin)),
 * orthonormal DCT-II, per-coefficient mean/std), in float32 C99. Part of tinykit; the
 * tables and the model's input quantization come from generated code
 * (tinykit.deploy.audio_frontend.frontend_sources).
 *
 * Streaming: call tk_frontend_push once per hop of stride_samples new samples. Frame k
 * covers samples [k * stride, k * stride + window); it is computed as soon as its last
 * sample has arrived, and its int8 row goes into a ring holding the last num_frames
 * rows, so a device never recomputes a whole clip. tk_frontend_copy writes the ring,
 * oldest row first, as the model's input tensor.
 *
 * After a push that computed a frame, the work buffers hold that frame's stages
 * (power spectrum, mel, log-mel, MFCC, normalised features): the host check reads them.
 *
 * The FFT is tinykit's own: a radix-2 complex FFT of fft_size / 2 points on the
 * even/odd samples, then the split into the real transform (the scheme of CMSIS-DSP's
 * arm_rfft_fast_f32), with twiddles computed in double precision by the generator. */
#ifndef TK_FRONTEND_H
#define TK_FRONTEND_H

#include <stdint.h>

#include "tk_kernels.h" /* tk_status */

#ifdef __cplusplus
extern "C" {
#endif

/* Samples the front end keeps between hops: the window rounded up to whole hops. */
#define TK_FRONTEND_HISTORY(window, stride) ((((window) + (stride) - 1) / (stride)) * (stride))

/* The model's int8 input: q = clamp(round(feature / scale) + zero_point, -128, 127),
 * rounding half to even as numpy does. */
typedef struct {
    float scale;
    int32_t zero_point;
} tk_frontend_quant;

/* The settings and tables of one front end (tinykit.features.AudioFeatures). */
typedef struct {
    int32_t window_samples;     /* samples per frame */
    int32_t stride_samples;     /* samples per hop */
    int32_t fft_size;           /* a power of two >= window_samples */
    int32_t num_frames;         /* rows of the model input */
    int32_t num_mels;           /* mel bands */
    int32_t num_mfcc;           /* DCT coefficients kept; 0: the features are log-mel */
    float log_amin;             /* floor of the mel power before log10 */
    const float *window;        /* [window_samples] periodic Hann */
    const float *twiddle;       /* [fft_size]: cos(2 pi k / n), sin(2 pi k / n), k < n/2 */
    const int16_t *mel_start;   /* [num_mels] first FFT bin of each band */
    const int16_t *mel_length;  /* [num_mels] bins of each band */
    const float *mel_weights;   /* the bands' weights, one band after the other */
    const float *dct;           /* [num_mfcc][num_mels], NULL when num_mfcc == 0 */
    const float *mean;          /* [features] or NULL (no normalisation) */
    const float *std;           /* [features] or NULL */
    tk_frontend_quant output;   /* the model's input quantization */
} tk_frontend_params;

/* Memory of one stream; sizes for params p (features = num_mfcc, or num_mels). */
typedef struct {
    int16_t *history;   /* [TK_FRONTEND_HISTORY(window_samples, stride_samples)] */
    float *fft;         /* [fft_size] */
    float *power;       /* [fft_size / 2 + 1] */
    float *mel;         /* [num_mels] */
    float *log_mel;     /* [num_mels] */
    float *coefficients;/* [features]: MFCC (or log-mel) before normalisation */
    float *features;    /* [features]: normalised, what is quantized */
    int8_t *ring;       /* [num_frames * features] */
} tk_frontend_buffers;

/* One stream's state: set up by tk_frontend_init, changed by push and reset only. */
typedef struct {
    const tk_frontend_params *params;
    tk_frontend_buffers buffers;
    int32_t features;   /* values per frame */
    int32_t history;    /* samples of history */
    int32_t samples;    /* samples pushed since the reset, saturating at history */
    int32_t frames;     /* frames computed since the reset, saturating at num_frames */
    int32_t head;       /* ring row the next frame goes to */
} tk_frontend;

/* Checks params (TK_ERROR_ARGUMENT: a null table or buffer, fft_size not a power of two
 * >= window_samples, a mel band past the spectrum ...) and resets the stream. */
tk_status tk_frontend_init(tk_frontend *fe, const tk_frontend_params *params,
                           const tk_frontend_buffers *buffers);

/* Forgets the audio: no history, no frames; the ring is filled with zero points. */
tk_status tk_frontend_reset(tk_frontend *fe);

/* Takes one hop of count == stride_samples samples (TK_ERROR_SIZE otherwise). Sets
 * *computed (may be NULL) to 1 when this hop completed a frame, else 0. */
tk_status tk_frontend_push(tk_frontend *fe, const int16_t *samples, int32_t count,
                           int32_t *computed);

/* The last num_frames rows, oldest first: the model's input of num_frames * features
 * int8 values. Rows not computed yet (fe->frames < num_frames) hold zero points. */
tk_status tk_frontend_copy(const tk_frontend *fe, int8_t *output);

/* In place: the real FFT of data[n] (n a power of two >= 4, twiddle as in the params),
 * packed as CMSIS-DSP packs it: data[0] = X[0], data[1] = X[n/2] (both real), then
 * re X[k], im X[k] for k = 1 .. n/2 - 1. */
tk_status tk_rfft(float *data, int32_t n, const float *twiddle);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_FRONTEND_H */
