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
 *                  and answers an INFO frame (0x10, JSON: sizes, model CRC-32, counter).
 *                  32 bytes: every, smooth, ignore mask, min_runs (u32 each; min_runs 0
 *                  counts as 1), threshold, suppress (f64 each); or, with a margin or
 *                  per-class thresholds, 40 + 8 * classes bytes: those, then the margin
 *                  and each class's threshold (f64 each)
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
 * Detection: tinykit's C detector (tk_detect.c, shared with the generated keyword
 * sketches), which smooths the posteriors and picks keywords exactly as
 * tinykit.streaming does.
 *
 * Counting (boards/common/tk_cycles, exact instructions under QEMU -icount): the front
 * end's push of every hop, and per model run the copy of the input, the model and the
 * smoothing ("model"); the ACK carries both totals. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_audio_frontend.h"
#include "tk_cycles.h"
#include "tk_detect.h"
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
#define HELLO_LONG_SIZE (HELLO_SIZE + 8u + 8u * CLASSES)
#define RX_PAYLOAD_MAX (HOP_BYTES > HELLO_LONG_SIZE ? HOP_BYTES : HELLO_LONG_SIZE)
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
#if CLASSES > TK_DETECT_MAX_CLASSES
#error "at most 32 classes (the ignore mask)"
#endif

#ifdef TK_ICOUNT_SHIFT
#define COUNTER_KIND "instructions"
#else
#define COUNTER_KIND "ticks"
#endif

/* -- The stream's state ------------------------------------------------------------- */
typedef struct {
    uint32_t last_seq, frames, corrupt, missing, malformed, hops, runs, detections;
    uint32_t unknown;
    uint32_t overruns;     /* bytes the UART lost: RX overrun (STATE bit 3) seen */
    uint64_t frontend_count, model_count;
} listen_counters;

/* The detector: its settings come in the HELLO frame (tk_detect_settings). */
static const tk_detect_params detect_params = {
    CLASSES, TK_LISTEN_MAX_SMOOTH, HOP, TK_AUDIO_FRONTEND_SAMPLE_RATE, HOPS_PER_CLIP,
    TK_MODEL_OUTPUT_SCALE, TK_MODEL_OUTPUT_ZERO_POINT};
static float detect_sums[(TK_LISTEN_MAX_SMOOTH + 1) * CLASSES];
static double detect_last_time[CLASSES];
static uint8_t detect_reported[CLASSES];
static const tk_detect_buffers detect_buffers = {detect_sums, detect_last_time,
                                                 detect_reported};
static double hello_thresholds[CLASSES];   /* a long HELLO's, until tk_detect_init copies them */

static listen_counters counters;
static tk_frontend fe;
static tk_detector detector;
static int synced;
static uint32_t expect;            /* sequence number of the next audio frame */
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

/* DETECTION: class u16, 0 u16, the window's end in hops u32, smoothed score f64; sent
 * when `detected`. */
static void send_detection(const tk_detection *found, int32_t detected)
{
    if (!detected) {
        return;
    }
    uint8_t payload[DETECTION_SIZE] = {(uint8_t)found->label, (uint8_t)(found->label >> 8)};
    union {
        double d;
        uint64_t u;
    } v = {found->score};
    tk_put_le(payload + 4, found->hops, 4);
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

/* -- The stream --------------------------------------------------------------------- */
static void run_model(void)
{
    static int8_t input[TK_MODEL_INPUT_SIZE];
    static int8_t output[CLASSES];
    tk_detection found;
    int32_t detected = 0;
    const uint64_t t0 = tk_cycles_now();
    if (tk_frontend_copy(&fe, input) != TK_OK || tk_model_invoke(input, output) != TK_OK
        || tk_detect_push(&detector, output, &found, &detected) != TK_OK) {
        counters.unknown |= 0x80000000u;   /* cannot happen with generated sizes: flag it */
        return;
    }
    counters.model_count += measured(t0);
    counters.runs++;
    send_detection(&found, detected);
}

/* One hop of audio: the front end, then the model when the detector says a window
 * ends here. The detector's hop count is the stream's clock. */
static void on_hop(const int16_t *samples)
{
    const uint64_t t0 = tk_cycles_now();
    int32_t computed;
    tk_frontend_push(&fe, samples, HOP, &computed);
    counters.frontend_count += measured(t0);
    const int32_t due = tk_detect_hop(&detector);
    counters.hops = detector.hops;
    if (due) {
        run_model();
    }
}

static void silent_hops(uint32_t n)
{
    static const int16_t silence[HOP];
    if (n > TK_LISTEN_MAX_FILL) {
        /* Too much lost to pretend: the clock moves on, the features start again. */
        tk_detection found;
        int32_t detected = 0;
        tk_detect_skip(&detector, n, &found, &detected);
        counters.hops = detector.hops;
        tk_frontend_reset(&fe);
        send_detection(&found, detected);
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
    tk_frontend_reset(&fe);
    tk_detect_reset(&detector);
}

static void on_hello(const tk_frame_in *f)
{
    if (f->length != HELLO_SIZE && f->length != HELLO_LONG_SIZE) {
        send_info(f->seq, "HELLO of the wrong size");
        return;
    }
    const uint8_t *p = f->payload;
    tk_detect_settings s = {(uint32_t)tk_get_le(p, 4), (uint32_t)tk_get_le(p + 4, 4),
                            (uint32_t)tk_get_le(p + 8, 4), get_f64(p + 16), get_f64(p + 24),
                            (uint32_t)tk_get_le(p + 12, 4), 0.0, 0};
    if (f->length == HELLO_LONG_SIZE) {
        s.margin = get_f64(p + HELLO_SIZE);
        for (uint32_t k = 0; k < CLASSES; k++) {
            hello_thresholds[k] = get_f64(p + HELLO_SIZE + 8u + 8u * k);
        }
        s.thresholds = hello_thresholds;
    }
    if (tk_detect_init(&detector, &detect_params, &detect_buffers, &s) != TK_OK) {
        send_info(f->seq, "every >= 1, smooth 1 .. max_smooth, thresholds and margin in "
                  "[0, 1], suppress >= 0");
        return;
    }
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
        tk_detection found;
        int32_t detected = 0;
        tk_detect_finish(&detector, &found, &detected);
        send_detection(&found, detected);
        send_counters(TYPE_DONE);
    } else {
        counters.unknown++;
        send_counters(TYPE_ACK);
    }
}

int main(void)
{
    static uint8_t rx[TK_FRAME_ENCODED_MAX(RX_PAYLOAD_MAX + 16u)];
    tk_frame_reader reader;
    tk_frame_in frame;
    uart_init(BAUD);
    tk_cycles_init();
    counter_overhead = tk_cycles_overhead();
    /* until a HELLO */
    static const tk_detect_settings defaults = {5u, 25u, 0u, 0.6, 1.0, 1u, 0.0, 0};
    tk_audio_frontend_init(&fe);
    tk_detect_init(&detector, &detect_params, &detect_buffers, &defaults);
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
