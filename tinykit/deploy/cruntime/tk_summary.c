/* tk_summary: per-channel mean, variance, minimum and maximum (see tk_summary.h). */
#include "tk_summary.h"

tk_status tk_summary_features(const float *window, int32_t samples, int32_t channels,
                              float *features)
{
    if (window == 0 || features == 0 || samples < 1 || channels < 1) {
        return TK_ERROR_ARGUMENT;
    }
    float *mean = features, *var = features + channels;
    float *lo = features + 2 * channels, *hi = features + 3 * channels;
    for (int32_t c = 0; c < channels; c++) {
        float sum = 0.0f, low = window[c], high = window[c];
        for (int32_t t = 0; t < samples; t++) {
            const float v = window[t * channels + c];
            sum += v;
            low = v < low ? v : low;
            high = v > high ? v : high;
        }
        const float m = sum / (float)samples;
        float squares = 0.0f;
        for (int32_t t = 0; t < samples; t++) {
            const float d = window[t * channels + c] - m;
            squares += d * d;
        }
        mean[c] = m;
        var[c] = squares / (float)samples;
        lo[c] = low;
        hi[c] = high;
    }
    return TK_OK;
}
