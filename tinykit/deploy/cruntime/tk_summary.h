/* tk_summary: summary features of a window of sensor samples, per channel, for
 * classical classifiers (tinykit.baseline: a tree ensemble converted with emlearn).
 *
 *   float features[TK_SUMMARY_PER_CHANNEL * channels];
 *   tk_summary_features(window, samples, channels, features);
 *
 * The window is samples x channels float32, row after row (IMU_Capture's order:
 * aX, aY, aZ, gX, gY, gZ). features[k * channels + c] is, for channel c, with k:
 * 0 the mean, 1 the variance (population: divided by samples), 2 the minimum,
 * 3 the maximum. Sums run in time order in float32, so
 * tinykit.baseline.summary_features computes the same floats bit for bit (compile
 * without -ffast-math and without floating-point contraction: -std=c11 does that). */
#ifndef TK_SUMMARY_H
#define TK_SUMMARY_H

#include <stdint.h>

#include "tk_kernels.h"   /* tk_status */

#ifdef __cplusplus
extern "C" {
#endif

/* Features per channel: mean, variance, minimum, maximum. */
#define TK_SUMMARY_PER_CHANNEL 4

/* Writes TK_SUMMARY_PER_CHANNEL * channels features of the window (see above).
 * Returns TK_ERROR_ARGUMENT for a null pointer, no sample or no channel. */
tk_status tk_summary_features(const float *window, int32_t samples, int32_t channels,
                              float *features);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_SUMMARY_H */
