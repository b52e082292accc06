/* tinykit's audio front end (see tk_frontend.h): float32 C99, no allocation. */
#include "tk_frontend.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define TK_SAMPLE_SCALE (1.0f / 32768.0f) /* int16 -> [-1, 1), as tinykit reads WAV files */

static int32_t features_of(const tk_frontend_params *p)
{
    return p->num_mfcc > 0 ? p->num_mfcc : p->num_mels;
}

static int is_power_of_two(int32_t n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

tk_status tk_frontend_init(tk_frontend *fe, const tk_frontend_params *p,
                           const tk_frontend_buffers *b)
{
    if (fe == NULL || p == NULL || b == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    if (p->window_samples < 1 || p->stride_samples < 1 || p->num_frames < 1 ||
        p->num_mels < 1 || p->num_mfcc < 0 || p->num_mfcc > p->num_mels ||
        p->fft_size < 4 || !is_power_of_two(p->fft_size) ||
        p->fft_size < p->window_samples || !(p->log_amin > 0.0f)) {
        return TK_ERROR_ARGUMENT;
    }
    if (p->window == NULL || p->twiddle == NULL || p->mel_start == NULL ||
        p->mel_length == NULL || p->mel_weights == NULL ||
        (p->num_mfcc > 0 && p->dct == NULL) || ((p->mean == NULL) != (p->std == NULL))) {
        return TK_ERROR_ARGUMENT;
    }
    if (!(p->output.scale > 0.0f) || p->output.zero_point < -128 ||
        p->output.zero_point > 127) {
        return TK_ERROR_ARGUMENT;
    }
    for (int32_t m = 0; m < p->num_mels; m++) {
        if (p->mel_start[m] < 0 || p->mel_length[m] < 0 ||
            p->mel_start[m] + p->mel_length[m] > p->fft_size / 2 + 1) {
            return TK_ERROR_ARGUMENT;
        }
    }
    if (b->history == NULL || b->fft == NULL || b->power == NULL || b->mel == NULL ||
        b->log_mel == NULL || b->coefficients == NULL || b->features == NULL ||
        b->ring == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    fe->params = p;
    fe->buffers = *b;
    fe->features = features_of(p);
    fe->history = TK_FRONTEND_HISTORY(p->window_samples, p->stride_samples);
    return tk_frontend_reset(fe);
}

tk_status tk_frontend_reset(tk_frontend *fe)
{
    if (fe == NULL || fe->params == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    memset(fe->buffers.history, 0, (size_t)fe->history * sizeof(int16_t));
    memset(fe->buffers.ring, (int)(int8_t)fe->params->output.zero_point,
           (size_t)fe->params->num_frames * (size_t)fe->features);
    fe->samples = 0;
    fe->frames = 0;
    fe->head = 0;
    return TK_OK;
}

/* The complex FFT of z[m] (m complex values as re, im pairs), forward, in place;
 * twiddle holds cos, sin of 2 pi k / (2 m) for k < m. */
static void complex_fft(float *z, int32_t m, const float *twiddle)
{
    /* bit-reversed order */
    for (int32_t i = 0, j = 0; i < m; i++) {
        if (i < j) {
            float re = z[2 * i], im = z[2 * i + 1];
            z[2 * i] = z[2 * j];
            z[2 * i + 1] = z[2 * j + 1];
            z[2 * j] = re;
            z[2 * j + 1] = im;
        }
        int32_t bit = m >> 1;
        while (bit > 0 && (j & bit)) {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
    }
    /* butterflies: w = exp(-2 pi i j / len) is table entry j * (2m / len) */
    for (int32_t len = 2; len <= m; len <<= 1) {
        int32_t half = len >> 1;
        int32_t step = (2 * m) / len;
        for (int32_t j = 0; j < half; j++) {
            float c = twiddle[2 * j * step], s = twiddle[2 * j * step + 1];
            for (int32_t i = j; i < m; i += len) {
                float *u = z + 2 * i, *v = z + 2 * (i + half);
                float vr = v[0] * c + v[1] * s;   /* v * (c - i s) */
                float vi = v[1] * c - v[0] * s;
                v[0] = u[0] - vr;
                v[1] = u[1] - vi;
                u[0] += vr;
                u[1] += vi;
            }
        }
    }
}

tk_status tk_rfft(float *data, int32_t n, const float *twiddle)
{
    if (data == NULL || twiddle == NULL || n < 4 || !is_power_of_two(n)) {
        return TK_ERROR_ARGUMENT;
    }
    int32_t m = n / 2;
    /* x[2j] + i x[2j+1] as m complex values: Z = FFT_m(z) */
    complex_fft(data, m, twiddle);
    /* X[k] = E[k] + W^k O[k], X[m - k] = conj(E[k] - W^k O[k]), W = exp(-2 pi i / n),
     * E[k] = (Z[k] + conj Z[m-k]) / 2, O[k] = (Z[k] - conj Z[m-k]) / 2i */
    float z0r = data[0], z0i = data[1];
    data[0] = z0r + z0i;
    data[1] = z0r - z0i;
    for (int32_t k = 1; k < m / 2; k++) {
        float *a = data + 2 * k, *b = data + 2 * (m - k);
        float er = 0.5f * (a[0] + b[0]), ei = 0.5f * (a[1] - b[1]);
        float or_ = 0.5f * (a[1] + b[1]), oi = -0.5f * (a[0] - b[0]);
        float c = twiddle[2 * k], s = twiddle[2 * k + 1];
        float wr = or_ * c + oi * s, wi = oi * c - or_ * s;   /* (c - i s) * O */
        a[0] = er + wr;
        a[1] = ei + wi;
        b[0] = er - wr;
        b[1] = wi - ei;
    }
    data[m + 1] = -data[m + 1];     /* k = m/2: X = conj Z[m/2] */
    return TK_OK;
}

/* One frame from history[0 .. window): every stage into the work buffers, the int8
 * row into ring[head]. */
static void compute_frame(tk_frontend *fe)
{
    const tk_frontend_params *p = fe->params;
    const tk_frontend_buffers *b = &fe->buffers;
    const int32_t n = p->fft_size, bins = n / 2 + 1, nf = fe->features;

    for (int32_t i = 0; i < p->window_samples; i++) {
        b->fft[i] = ((float)b->history[i] * TK_SAMPLE_SCALE) * p->window[i];
    }
    /* zeros after the window: the same magnitudes as librosa's centred window */
    memset(b->fft + p->window_samples, 0, (size_t)(n - p->window_samples) * sizeof(float));
    (void)tk_rfft(b->fft, n, p->twiddle);

    b->power[0] = b->fft[0] * b->fft[0];
    b->power[bins - 1] = b->fft[1] * b->fft[1];
    for (int32_t k = 1; k < bins - 1; k++) {
        float re = b->fft[2 * k], im = b->fft[2 * k + 1];
        b->power[k] = re * re + im * im;
    }

    const float *w = p->mel_weights;
    for (int32_t m = 0; m < p->num_mels; m++) {
        const float *pw = b->power + p->mel_start[m];
        float sum = 0.0f;
        for (int32_t j = 0; j < p->mel_length[m]; j++) {
            sum += w[j] * pw[j];
        }
        w += p->mel_length[m];
        b->mel[m] = sum;
        b->log_mel[m] = 10.0f * log10f(sum > p->log_amin ? sum : p->log_amin);
    }

    if (p->num_mfcc > 0) {
        for (int32_t c = 0; c < p->num_mfcc; c++) {
            const float *row = p->dct + c * p->num_mels;
            float sum = 0.0f;
            for (int32_t m = 0; m < p->num_mels; m++) {
                sum += row[m] * b->log_mel[m];
            }
            b->coefficients[c] = sum;
        }
    } else {
        memcpy(b->coefficients, b->log_mel, (size_t)nf * sizeof(float));
    }

    int8_t *row = b->ring + fe->head * nf;
    for (int32_t c = 0; c < nf; c++) {
        float v = b->coefficients[c];
        if (p->mean != NULL) {
            v = (v - p->mean[c]) / p->std[c];
        }
        b->features[c] = v;
        float q = v / p->output.scale;
        q = q < -1000.0f ? -1000.0f : (q > 1000.0f ? 1000.0f : q);  /* NaN-free, int-safe */
        int32_t r = (int32_t)rintf(q) + p->output.zero_point;       /* half to even */
        row[c] = (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
    }
    fe->head = fe->head + 1 == p->num_frames ? 0 : fe->head + 1;
    if (fe->frames < p->num_frames) {
        fe->frames++;
    }
}

tk_status tk_frontend_push(tk_frontend *fe, const int16_t *samples, int32_t count,
                           int32_t *computed)
{
    if (computed != NULL) {
        *computed = 0;
    }
    if (fe == NULL || fe->params == NULL || samples == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t stride = fe->params->stride_samples;
    if (count != stride) {
        return TK_ERROR_SIZE;
    }
    int16_t *h = fe->buffers.history;
    memmove(h, h + stride, (size_t)(fe->history - stride) * sizeof(int16_t));
    memcpy(h + fe->history - stride, samples, (size_t)stride * sizeof(int16_t));
    fe->samples = fe->samples + stride < fe->history ? fe->samples + stride : fe->history;
    if (fe->samples < fe->history) {
        return TK_OK;
    }
    /* history = samples [t - history, t): the frame starting there ends in this hop */
    compute_frame(fe);
    if (computed != NULL) {
        *computed = 1;
    }
    return TK_OK;
}

tk_status tk_frontend_copy(const tk_frontend *fe, int8_t *output)
{
    if (fe == NULL || fe->params == NULL || output == NULL) {
        return TK_ERROR_ARGUMENT;
    }
    const int32_t rows = fe->params->num_frames, nf = fe->features;
    /* oldest row first: the one head points to (rows not computed hold zero points) */
    size_t tail = (size_t)(rows - fe->head) * (size_t)nf;
    memcpy(output, fe->buffers.ring + fe->head * nf, tail);
    memcpy(output + tail, fe->buffers.ring, (size_t)fe->head * (size_t)nf);
    return TK_OK;
}
