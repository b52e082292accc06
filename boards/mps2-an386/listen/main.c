/* tinykit streaming keyword firmware for QEMU mps2-an386 (Cortex-M4F): listens to raw
 * 16 kHz int16 audio sent over UART0 in tinykit's frames, computes the model's features
 * as the audio arrives (tk_frontend, one push per hop), runs the int8 model (tk_model.c,
 * tinykit.deploy.cmodel) every `every` hops on the last second, averages the posteriors
 * and picks keywords as tinykit.streaming.detect does, and sends each detection back in
 * a frame. Host side: tinykit.deploy.listen.
 *
 * The protocol (frames: ../../common/tk_frame.h; types below):
 *
 *   host -> board  HELLO (0x20, the detector's settings)  the board resets the stream
 *                  and answers an INFO frame (0x10, JSON: sizes, model CRC-32, counter)
 *   host -> board  AUDIO (0x01, exactly one hop of int16 samples, little-endian)
 *                  the board answers each with an ACK (0x30, its counters), after any
 *                  DETECTION (0x31) the hop produced; the host keeps a few frames in
 *                  flight and waits for ACKs: the board paces the stream
 *   host -> board  END (0x32)   the board reports a keyword still open and answers DONE
 *                  (0x33, the counters)
 *
 * Bad frames never stop it: a corrupt frame (COBS, length, CRC, too long) is counted and
 * answered with an ACK; a gap in the sequence numbers (frames lost, corrupt ones among
 * them) is counted and each missing hop is replaced by silence, so the times of later
 * detections stay right; an audio frame of the wrong size is counted and replaced by
 * silence; unknown frames are counted.
 *
 * Detection, per model run i at time t_i (the window's end, in samples / rate): the
 * dequantized outputs p_i (float32, (q - zero_point) * scale) enter a running float32
 * cumulative sum c (c_0 = 0, c_{i+1} = c_i + p_i); the smoothed row is
 * (c_{i+1} - c_lo) / (i + 1 - lo), lo = max(0, i + 1 - smooth), the float32 difference
 * divided in double: numpy's arithmetic in tinykit.streaming.smooth. A run of rows whose
 * argmax is keyword k with a smoothed value >= threshold (double) is reported at its
 * first highest row, unless k is ignored or was reported less than `suppress` seconds
 * before (times in double, as in tinykit.streaming.detections_from).
 *
 * Counting (boards/common/tk_cycles, exact instructions under QEMU -icount): the front
 * end's push of every hop, and per model run the copy of the input, the model and the
 * smoothing ("model"); the ACK carries both totals. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_audio_frontend.h"
#include "tk_cycles.h"
#include "tk_frontend.h"
#include "tk_link.h"
#include "tk_listen_model.h"
#include "tk_model.h"
#include "uart.h"

#ifndef BAUD
#define BAUD 115200
#endif
#ifndef TK_LISTEN_MAX_SMOOTH
#define TK_LISTEN_MAX_SMOOTH 64  /* model runs the posteriors are averaged over, at most */
#endif
#ifndef TK_LISTEN_MAX_FILL
#define TK_LISTEN_MAX_FILL 50    /* missing hops replaced by silence; more: the stream restarts */
#endif

/* The UART's RX overrun flag (CMSDK APB UART STATE bit 3): a byte came while one was
 * waiting and was lost. uart.c does not look at it; the listen firmware counts it. */
#define UART0_STATE (*(volatile uint32_t *)(UART0_BASE + UART0_STATE_OFFSET))
#define STATE_RX_OVERRUN 0x8u

#define TYPE_ACK 0x30
#define TYPE_DETECTION 0x31
#define TYPE_END 0x32
#define TYPE_DONE 0x33
#define PROTOCOL 1

#define HOP TK_AUDIO_FRONTEND_STRIDE_SAMPLES
#define HOP_BYTES (2 * HOP)
#define CLASSES TK_MODEL_OUTPUT_SIZE
#define CLIP_SAMPLES (TK_AUDIO_FRONTEND_WINDOW_SAMPLES + (TK_AUDIO_FRONTEND_NUM_FRAMES - 1) * HOP)
#define HOPS_PER_CLIP (CLIP_SAMPLES / HOP)
#define HELLO_SIZE 32u
#define ACK_SIZE 56u
#define DETECTION_SIZE 16u
#define INFO_MAX 320
#define SEND_MAX INFO_MAX

#if TK_AUDIO_FRONTEND_INPUT_SIZE != TK_MODEL_INPUT_SIZE
#error "the front end's output is not the model's input: generate both for one model"
#endif
#if CLIP_SAMPLES % HOP != 0
#error "the model's window is not a whole number of hops"
#endif
#if CLASSES > 32
#error "at most 32 classes (the ignore mask)"
#endif

#ifdef TK_ICOUNT_SHIFT
#define COUNTER_KIND "instructions"
#else
#define COUNTER_KIND "ticks"
#endif

/* -- Settings of the detector (the HELLO frame) ---------------------------------- */
typedef struct {
    uint32_t every;        /* hops between model runs */
    uint32_t smooth;       /* model runs averaged */
    uint32_t ignore_mask;  /* bit k: class k is never reported */
    double threshold;
    double suppress;       /* seconds */
} listen_settings;

/* -- The stream's state ------------------------------------------------------------- */
typedef struct {
    uint32_t last_seq, frames, corrupt, missing, malformed, hops, runs, detections;
    uint32_t unknown;
    uint32_t overruns;     /* bytes the UART lost: RX overrun (STATE bit 3) seen */
    uint64_t frontend_count, model_count;
} listen_counters;

static listen_settings settings = {5u, 25u, 0u, 0.6, 1.0};
static listen_counters counters;
static tk_frontend fe;
static int synced;
static uint32_t expect;            /* sequence number of the next audio frame */
static uint32_t runs_in_stream;    /* model runs since the last (re)start of the stream */
static float csum[TK_LISTEN_MAX_SMOOTH + 1][CLASSES]; /* ring of cumulative sums */
static int run_active;             /* a keyword above threshold is being followed */
static uint32_t run_class, peak_hops;
static double peak_value;
static int reported[CLASSES];
static double last_time[CLASSES];
static uint64_t counter_overhead;

static uint64_t measured(uint64_t t0)
{
    return tk_cycles_since(t0, counter_overhead);
}

/* -- Sending ------------------------------------------------------------------------ */
static uint32_t tx_seq;

static void send(uint8_t type, const void *payload, uint16_t n)
{
    static uint8_t raw[SEND_MAX + TK_FRAME_OVERHEAD];
    static uint8_t enc[TK_FRAME_ENCODED_MAX(SEND_MAX)];
    uart_write(enc, tk_frame_build(type, tx_seq++, payload, n, raw, enc));
}




static double get_f64(const uint8_t *p)
{
    union {
        uint64_t u;
        double d;
    } v = {tk_get_le(p, 8)};
    return v.d;
}

/* ACK and DONE: last_seq, frames, corrupt, missing, malformed, hops, model runs,
 * detections, unknown, UART overruns (u32 each), front-end count, model count (u64 each). */
static void send_counters(uint8_t type)
{
    uint8_t payload[ACK_SIZE];
    uint8_t *p = payload;
    const listen_counters *c = &counters;
    const uint32_t fields[] = {c->last_seq, c->frames,     c->corrupt,
                               c->missing,  c->malformed,  c->hops,
                               c->runs,     c->detections, c->unknown,
                               c->overruns};
    for (unsigned i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        p = tk_put_le(p, fields[i], 4);
    }
    p = tk_put_le(p, c->frontend_count, 8);
    tk_put_le(p, c->model_count, 8);
    send(type, payload, ACK_SIZE);
}

/* DETECTION: class u16, 0 u16, the window's end in hops u32, smoothed score f64. */
static void send_detection(uint32_t label, uint32_t hops, double score)
{
    uint8_t payload[DETECTION_SIZE] = {(uint8_t)label, (uint8_t)(label >> 8), 0, 0};
    union {
        double d;
        uint64_t u;
    } v = {score};
    tk_put_le(payload + 4, hops, 4);
    tk_put_le(payload + 8, v.u, 8);
    send(TYPE_DETECTION, payload, DETECTION_SIZE);
    counters.detections++;
}



static void send_info(uint32_t hello_seq, const char *error)
{
    static char info[INFO_MAX];
    static const tk_info_field fields[] = {
        {"protocol", PROTOCOL}, {"sample_rate", TK_AUDIO_FRONTEND_SAMPLE_RATE}, {"hop", HOP},
        {"clip_samples", CLIP_SAMPLES}, {"input_size", TK_MODEL_INPUT_SIZE},
        {"classes", CLASSES}, {"max_smooth", TK_LISTEN_MAX_SMOOTH},
        {"model_crc32", TK_LISTEN_MODEL_CRC32}};
    size_t n = tk_link_info(info, INFO_MAX, "listen", BOARD_NAME, hello_seq, fields,
                            sizeof fields / sizeof fields[0]);
    n = tk_text(info, n, INFO_MAX, ",\"counter\":\"" COUNTER_KIND "\"");
    if (error) {
        n = tk_text(info, tk_text(info, n, INFO_MAX, ",\"error\":\""), INFO_MAX, error);
        n = tk_text(info, n, INFO_MAX, "\"");
    }
    n = tk_text(info, n, INFO_MAX, "}");
    send(TK_FRAME_TYPE_INFO, info, (uint16_t)n);
}

/* -- Detection ----------------------------------------------------------------------- */
static double seconds_at(uint32_t hops)
{
    return (double)((uint64_t)hops * HOP) / (double)TK_AUDIO_FRONTEND_SAMPLE_RATE;
}

static void finish_run(void)
{
    if (!run_active) {
        return;
    }
    run_active = 0;
    const double t = seconds_at(peak_hops);
    if (!reported[run_class] || t - last_time[run_class] >= settings.suppress) {
        send_detection(run_class, peak_hops, peak_value);
        reported[run_class] = 1;
        last_time[run_class] = t;
    }
}

/* One row of smoothed posteriors, at the window ending after `hops` hops. */
static void detect_step(const double *smoothed, uint32_t hops)
{
    uint32_t best = 0;
    for (uint32_t k = 1; k < CLASSES; k++) {
        if (smoothed[k] > smoothed[best]) {
            best = k;
        }
    }
    const int above = smoothed[best] >= settings.threshold;
    if (run_active) {
        if (best == run_class && above) {
            if (smoothed[best] > peak_value) {
                peak_value = smoothed[best];
                peak_hops = hops;
            }
            return;
        }
        finish_run();
    }
    if (above && !(settings.ignore_mask >> best & 1u)) {
        run_active = 1;
        run_class = best;
        peak_value = smoothed[best];
        peak_hops = hops;
    }
}

static void run_model(void)
{
    static int8_t input[TK_MODEL_INPUT_SIZE];
    static int8_t output[CLASSES];
    double smoothed[CLASSES];
    const uint64_t t0 = tk_cycles_now();
    if (tk_frontend_copy(&fe, input) != TK_OK || tk_model_invoke(input, output) != TK_OK) {
        counters.unknown |= 0x80000000u;   /* cannot happen with generated sizes: flag it */
        return;
    }
    const uint32_t i = runs_in_stream++;
    const uint32_t ring = TK_LISTEN_MAX_SMOOTH + 1u;
    const float *prev = csum[i % ring];
    float *next = csum[(i + 1u) % ring];
    const uint32_t lo = i + 1u > settings.smooth ? i + 1u - settings.smooth : 0u;
    const float *low = csum[lo % ring];
    for (uint32_t k = 0; k < CLASSES; k++) {
        const float p = ((float)output[k] - (float)TK_MODEL_OUTPUT_ZERO_POINT) * TK_MODEL_OUTPUT_SCALE;
        next[k] = prev[k] + p;
    }
    for (uint32_t k = 0; k < CLASSES; k++) {
        const float diff = next[k] - low[k];
        smoothed[k] = (double)diff / (double)(i + 1u - lo);
    }
    counters.model_count += measured(t0);
    counters.runs++;
    detect_step(smoothed, counters.hops);
}

static void restart_stream(void)
{
    tk_frontend_reset(&fe);
    runs_in_stream = 0;
    for (uint32_t k = 0; k < CLASSES; k++) {
        csum[0][k] = 0.0f;
    }
    finish_run();
}

/* One hop of audio: the front end, then the model when a window ends here. The hop
 * counter is the stream's clock; hops_in_stream counts since the last restart. */
static uint32_t hops_in_stream;

static void on_hop(const int16_t *samples)
{
    const uint64_t t0 = tk_cycles_now();
    int32_t computed;
    tk_frontend_push(&fe, samples, HOP, &computed);
    counters.frontend_count += measured(t0);
    counters.hops++;
    hops_in_stream++;
    if (hops_in_stream >= HOPS_PER_CLIP && (hops_in_stream - HOPS_PER_CLIP) % settings.every == 0) {
        run_model();
    }
}

static void silent_hops(uint32_t n)
{
    static const int16_t silence[HOP];
    if (n > TK_LISTEN_MAX_FILL) {
        /* Too much lost to pretend: the clock moves on, the features start again. */
        counters.hops += n;
        hops_in_stream = 0;
        restart_stream();
        return;
    }
    while (n--) {
        on_hop(silence);
    }
}

static void reset_all(void)
{
    static const listen_counters zero;
    counters = zero;
    hops_in_stream = 0;
    run_active = 0;
    for (uint32_t k = 0; k < CLASSES; k++) {
        reported[k] = 0;
    }
    restart_stream();
}

static void on_hello(const tk_frame_in *f)
{
    if (f->length != HELLO_SIZE) {
        send_info(f->seq, "HELLO of the wrong size");
        return;
    }
    const uint8_t *p = f->payload;
    listen_settings s = {(uint32_t)tk_get_le(p, 4), (uint32_t)tk_get_le(p + 4, 4),
                         (uint32_t)tk_get_le(p + 8, 4), get_f64(p + 16), get_f64(p + 24)};
    if (s.every < 1u || s.smooth < 1u || s.smooth > TK_LISTEN_MAX_SMOOTH) {
        send_info(f->seq, "every must be >= 1 and smooth within 1 .. max_smooth");
        return;
    }
    settings = s;
    reset_all();
    synced = 1;
    expect = f->seq + 1u;
    send_info(f->seq, 0);
}

static void on_audio(const tk_frame_in *f)
{
    static int16_t hop[HOP];
    const uint32_t gap = f->seq - expect;
    if (gap >= 0x80000000u) {
        counters.unknown++;                 /* an old frame again: not part of the stream */
        send_counters(TYPE_ACK);
        return;
    }
    if (gap) {
        counters.missing += gap;
        silent_hops(gap);
    }
    expect = f->seq + 1u;
    counters.last_seq = f->seq;
    if (f->length != HOP_BYTES) {
        counters.malformed++;
        silent_hops(1);
    } else {
        for (uint32_t i = 0; i < HOP; i++) {
            hop[i] = (int16_t)(uint16_t)(f->payload[2 * i] | f->payload[2 * i + 1] << 8);
        }
        counters.frames++;
        on_hop(hop);
    }
    send_counters(TYPE_ACK);
}

static void on_frame(const tk_frame_in *f)
{
    if (f->type == TK_FRAME_TYPE_HELLO) {
        on_hello(f);
    } else if (!synced) {
        counters.unknown++;                 /* audio before a HELLO: no settings yet */
        send_counters(TYPE_ACK);
    } else if (f->type == TK_FRAME_TYPE_AUDIO) {
        on_audio(f);
    } else if (f->type == TYPE_END) {
        finish_run();
        send_counters(TYPE_DONE);
    } else {
        counters.unknown++;
        send_counters(TYPE_ACK);
    }
}

int main(void)
{
    static uint8_t rx[TK_FRAME_ENCODED_MAX(HOP_BYTES + 16u)];
    tk_frame_reader reader;
    tk_frame_in frame;
    uart_init(BAUD);
    tk_cycles_init();
    counter_overhead = tk_cycles_overhead();
    tk_audio_frontend_init(&fe);
    reset_all();
    tk_frame_reader_init(&reader, rx, sizeof rx);
    for (;;) {
        if (UART0_STATE & STATE_RX_OVERRUN) {
            UART0_STATE = STATE_RX_OVERRUN;     /* write 1 to clear */
            counters.overruns++;
        }
        int c = uart_getc();
        if (c < 0) {
            continue;
        }
        tk_link_status status = tk_frame_reader_feed(&reader, (uint8_t)c, &frame);
        if (status == TK_LINK_OK) {
            on_frame(&frame);
        } else if (status != TK_LINK_PENDING) {
            counters.corrupt++;
            send_counters(TYPE_ACK);
        }
    }
}
