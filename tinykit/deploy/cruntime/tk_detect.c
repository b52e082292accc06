/* tinykit's keyword detector (see tk_detect.h). */
#include "tk_detect.h"

#include <stddef.h>

/* numpy adds and multiplies separately: no fused multiply-add (which GCC may otherwise
 * use on a Cortex-M4F with -std=gnu11, as arduino-cli compiles C). */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

static void clear_sums(tk_detector *d)
{
    for (int32_t k = 0; k < d->params.classes; k++) {
        d->buffers.sums[k] = 0.0f;          /* c_0 = 0 in ring row 0 */
    }
}

/* Ends the keyword being followed; reports it unless it came too soon after the last. */
static void end_run(tk_detector *d, tk_detection *found, int32_t *detected)
{
    *detected = 0;
    if (!d->active) {
        return;
    }
    d->active = 0;
    if (d->run_length < d->settings.min_runs) {
        return;                             /* too short: neither reported nor suppressing */
    }
    const uint32_t k = d->active_class;
    const double t = tk_detect_seconds(d, d->peak_hops);
    if (!d->buffers.reported[k] || t - d->buffers.last_time[k] >= d->settings.suppress) {
        d->buffers.reported[k] = 1;
        d->buffers.last_time[k] = t;
        found->label = k;
        found->hops = d->peak_hops;
        found->score = d->peak_value;
        *detected = 1;
    }
}

static void restart(tk_detector *d)
{
    d->hops_in_stream = 0;
    d->runs_in_stream = 0;
    clear_sums(d);
}

tk_status tk_detect_init(tk_detector *d, const tk_detect_params *params,
                         const tk_detect_buffers *buffers, const tk_detect_settings *settings)
{
    if (!d || !params || !buffers || !settings || !buffers->sums || !buffers->last_time
        || !buffers->reported) {
        return TK_ERROR_ARGUMENT;
    }
    const tk_detect_params *p = params;
    const tk_detect_settings *s = settings;
    if (p->classes < 1 || p->classes > TK_DETECT_MAX_CLASSES || p->max_smooth < 1
        || p->hop_samples < 1 || p->sample_rate < 1 || p->hops_per_window < 1
        || !(p->output_scale > 0.0f)) {
        return TK_ERROR_ARGUMENT;
    }
    if (s->every < 1u || s->smooth < 1u || s->smooth > (uint32_t)p->max_smooth
        || !(s->threshold >= 0.0 && s->threshold <= 1.0) || !(s->suppress >= 0.0)
        || !(s->margin >= 0.0 && s->margin <= 1.0)) {
        return TK_ERROR_ARGUMENT;
    }
    for (int32_t k = 0; s->thresholds && k < p->classes; k++) {
        if (!(s->thresholds[k] >= 0.0 && s->thresholds[k] <= 1.0)) {
            return TK_ERROR_ARGUMENT;
        }
    }
    d->params = *p;
    d->settings = *s;
    if (d->settings.min_runs < 1u) {
        d->settings.min_runs = 1u;
    }
    for (int32_t k = 0; k < p->classes; k++) {
        d->thresholds[k] = s->thresholds ? s->thresholds[k] : s->threshold;
    }
    d->buffers = *buffers;
    return tk_detect_reset(d);
}

tk_status tk_detect_reset(tk_detector *d)
{
    if (!d) {
        return TK_ERROR_ARGUMENT;
    }
    d->hops = 0;
    d->active = 0;
    for (int32_t k = 0; k < d->params.classes; k++) {
        d->buffers.reported[k] = 0;
        d->buffers.last_time[k] = 0.0;
    }
    restart(d);
    return TK_OK;
}

int32_t tk_detect_hop(tk_detector *d)
{
    d->hops++;
    d->hops_in_stream++;
    const uint32_t window = (uint32_t)d->params.hops_per_window;
    return d->hops_in_stream >= window
        && (d->hops_in_stream - window) % d->settings.every == 0u;
}

tk_status tk_detect_push(tk_detector *d, const int8_t *output, tk_detection *found,
                         int32_t *detected)
{
    if (!d || !output || !found || !detected) {
        return TK_ERROR_ARGUMENT;
    }
    *detected = 0;
    const uint32_t classes = (uint32_t)d->params.classes;
    const uint32_t ring = (uint32_t)d->params.max_smooth + 1u;
    const uint32_t i = d->runs_in_stream++;
    const uint32_t lo = i + 1u > d->settings.smooth ? i + 1u - d->settings.smooth : 0u;
    const float *prev = d->buffers.sums + (i % ring) * classes;
    float *next = d->buffers.sums + ((i + 1u) % ring) * classes;
    const float *low = d->buffers.sums + (lo % ring) * classes;
    const float scale = d->params.output_scale;
    const float zero = (float)d->params.output_zero_point;
    for (uint32_t k = 0; k < classes; k++) {
        next[k] = prev[k] + ((float)output[k] - zero) * scale;
    }
    /* The smoothed row's argmax (the first of equal values, as numpy's), its value and
     * the runner-up: the second highest value (equal to the highest on a tie). */
    uint32_t best = 0;
    double value = 0.0;
    double second = 0.0;
    for (uint32_t k = 0; k < classes; k++) {
        const float diff = next[k] - low[k];
        const double v = (double)diff / (double)(i + 1u - lo);
        if (k == 0) {
            value = v;
        } else if (v > value) {
            second = value;
            best = k;
            value = v;
        } else if (k == 1 || v > second) {
            second = v;
        }
    }
    /* This row counts towards keyword `best`'s run (one class: there is no runner-up). */
    const int counts = value >= d->thresholds[best]
        && (classes == 1u || value - second >= d->settings.margin);
    if (d->active) {
        if (best == d->active_class && counts) {
            d->run_length++;
            if (value > d->peak_value) {
                d->peak_value = value;
                d->peak_hops = d->hops;
            }
            return TK_OK;
        }
        end_run(d, found, detected);
    }
    if (counts && !(d->settings.ignore_mask >> best & 1u)) {
        d->active = 1;
        d->active_class = best;
        d->peak_value = value;
        d->peak_hops = d->hops;
        d->run_length = 1u;
    }
    return TK_OK;
}

tk_status tk_detect_skip(tk_detector *d, uint32_t count, tk_detection *found,
                         int32_t *detected)
{
    if (!d || !found || !detected) {
        return TK_ERROR_ARGUMENT;
    }
    end_run(d, found, detected);
    d->hops += count;
    restart(d);
    return TK_OK;
}

tk_status tk_detect_finish(tk_detector *d, tk_detection *found, int32_t *detected)
{
    if (!d || !found || !detected) {
        return TK_ERROR_ARGUMENT;
    }
    end_run(d, found, detected);
    return TK_OK;
}

double tk_detect_seconds(const tk_detector *d, uint32_t hops)
{
    return (double)((uint64_t)hops * (uint32_t)d->params.hop_samples)
        / (double)d->params.sample_rate;
}
