/* tinykit's keyword detector: the model's int8 posteriors in, keywords out, exactly as
 * tinykit.streaming picks them on the host (smooth, then detections_from), so a board
 * and a notebook report the same keywords at the same times. Part of tinykit; used by
 * the emulated board's listen firmware and the generated keyword sketches.
 *
 * The stream's clock counts hops of audio (hop_samples each). The model reads a window
 * of hops_per_window hops; it runs on the hop that fills the window first and then
 * every `every` hops (tk_detect_hop says when).
 *
 * Per model run i, at the window's end t_i: the dequantized outputs p_i (float32,
 * (q - zero_point) * scale) enter a running float32 cumulative sum c (c_0 = 0,
 * c_{i+1} = c_i + p_i); the smoothed row is (c_{i+1} - c_lo) / (i + 1 - lo),
 * lo = max(0, i + 1 - smooth), the float32 difference divided in double: numpy's
 * arithmetic in tinykit.streaming.smooth. A row counts towards keyword k's run when k is
 * its argmax (the first of equal values), its smoothed value is >= k's threshold
 * (thresholds[k], else threshold) and exceeds the runner-up (the second highest value
 * of the row, any class) by >= margin (differences and comparisons in double). A run of
 * counting rows of k lasting >= min_runs rows is reported at its first highest row,
 * unless k is ignored or was reported less than `suppress` seconds before (times in
 * double, as in tinykit.streaming.detections_from; a run too short neither is reported
 * nor suppresses). A run is reported when it ends: at the first row that leaves it, at
 * tk_detect_finish, or when the stream restarts. */
#ifndef TK_DETECT_H
#define TK_DETECT_H

#include <stdint.h>

#include "tk_kernels.h" /* tk_status */

#ifdef __cplusplus
extern "C" {
#endif

#define TK_DETECT_MAX_CLASSES 32   /* the width of ignore_mask; tk_detector.thresholds */

/* What the detector does with the posteriors (tinykit.streaming.detect's arguments:
 * stride = every * hop, smooth = round(window / stride) model runs). The fields after
 * suppress may be left zero: min_runs 0 counts as 1, margin 0 and thresholds NULL are
 * the detector without them. */
typedef struct {
    uint32_t every;        /* hops between model runs, >= 1 */
    uint32_t smooth;       /* model runs averaged, 1 .. max_smooth */
    uint32_t ignore_mask;  /* bit k: class k is never reported (silence, unknown) */
    double threshold;      /* smoothed probability from which a keyword counts */
    double suppress;       /* seconds before the same keyword is reported again */
    uint32_t min_runs;     /* model runs a keyword's run must last to be reported (0, 1: any) */
    double margin;         /* by how much a counting row beats the runner-up, in [0, 1] */
    const double *thresholds;  /* [classes] per-class thresholds in [0, 1], or NULL: every
                                * class uses threshold; copied by tk_detect_init */
} tk_detect_settings;

/* The model and the stream's geometry. */
typedef struct {
    int32_t classes;            /* model outputs, 1 .. TK_DETECT_MAX_CLASSES */
    int32_t max_smooth;         /* the most model runs ever averaged (buffer size) */
    int32_t hop_samples;        /* samples per hop */
    int32_t sample_rate;        /* samples per second */
    int32_t hops_per_window;    /* hops the model's input covers */
    float output_scale;         /* the model's output quantization */
    int32_t output_zero_point;
} tk_detect_params;

/* Memory of one detector. */
typedef struct {
    float *sums;         /* [(max_smooth + 1) * classes]: a ring of cumulative sums */
    double *last_time;   /* [classes]: when each class was last reported (seconds) */
    uint8_t *reported;   /* [classes]: whether it was */
} tk_detect_buffers;

/* A keyword: class `label`, at the end of the window after `hops` hops of the stream
 * (tk_detect_seconds), with its smoothed probability. */
typedef struct {
    uint32_t label;
    uint32_t hops;
    double score;
} tk_detection;

/* One detector's state: set up by tk_detect_init, changed by the calls below only. */
typedef struct {
    tk_detect_params params;
    tk_detect_settings settings;
    tk_detect_buffers buffers;
    uint32_t hops;              /* the clock: hops since tk_detect_init / reset */
    uint32_t hops_in_stream;    /* hops since the stream last (re)started */
    uint32_t runs_in_stream;    /* model runs since then */
    int32_t active;             /* a keyword above threshold is being followed */
    uint32_t active_class;
    uint32_t peak_hops;
    double peak_value;
    uint32_t run_length;        /* rows of the keyword being followed */
    double thresholds[TK_DETECT_MAX_CLASSES];  /* each class's threshold */
} tk_detector;

/* Checks params and settings (TK_ERROR_ARGUMENT: a null buffer, every or smooth out of
 * range, classes not in 1 .. TK_DETECT_MAX_CLASSES, a threshold or the margin outside
 * [0, 1], a negative suppress ...) and resets the detector. */
tk_status tk_detect_init(tk_detector *d, const tk_detect_params *params,
                         const tk_detect_buffers *buffers, const tk_detect_settings *settings);

/* Forgets everything: the clock starts at 0, no keyword was ever reported. */
tk_status tk_detect_reset(tk_detector *d);

/* Counts one hop of audio; returns 1 when the model is due to run on the window that
 * ends with it (then call tk_detect_push), else 0. */
int32_t tk_detect_hop(tk_detector *d);

/* The model's int8 outputs of the run tk_detect_hop asked for. Sets *detected to 1 and
 * fills *found when this row ended a keyword that is reported, else *detected = 0. */
tk_status tk_detect_push(tk_detector *d, const int8_t *output, tk_detection *found,
                         int32_t *detected);

/* `count` hops of audio lost: the clock moves on and the stream starts again (the
 * front end must be reset too); a keyword still open is reported first, as by
 * tk_detect_finish. */
tk_status tk_detect_skip(tk_detector *d, uint32_t count, tk_detection *found,
                         int32_t *detected);

/* The end of the stream: a keyword still open is reported (*detected = 1). */
tk_status tk_detect_finish(tk_detector *d, tk_detection *found, int32_t *detected);

/* Seconds of audio in `hops` hops (a detection's time), in double precision. */
double tk_detect_seconds(const tk_detector *d, uint32_t hops);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_DETECT_H */
