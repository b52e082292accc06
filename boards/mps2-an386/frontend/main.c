/* tinykit audio front-end check for QEMU mps2-an386 (Cortex-M4F): feeds every
 * compiled-in clip (tk_clips.c, int16) through the C front end (tk_frontend.c) one hop
 * at a time, as a microphone would deliver it, and prints on UART0
 *
 *   tinykit frontend: <count> clips of <samples> samples, <hops> hops each
 *   stage <clip> <frame>: <hex float32 words>    with FRONTEND_STAGES=1: power, mel,
 *                                                log-mel, coefficients, normalised
 *   clip <index>: <v0> <v1> ...                  the model's int8 input, per clip
 *   done
 *
 * or "error <clip>: <call> returned <status>" and stops. A fault prints a FAULT line
 * (startup.c). tinykit.deploy.audio_frontend.run_emulated builds it, boots it and
 * compares the tensors with tinykit.features (librosa).
 *
 * Counting instructions: FRONTEND_MEASURE_BEGIN / FRONTEND_MEASURE_END bracket each
 * tk_frontend_push (the only work per hop); define them (firmware_config.h) to read a
 * counter, and FRONTEND_MEASURE_REPORT to print it after the last clip. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_audio_frontend.h"
#include "tk_clips.h"
#include "tk_frontend.h"
#include "uart.h"

#ifndef FRONTEND_STAGES
#define FRONTEND_STAGES 0
#endif
#ifndef FRONTEND_MEASURE_BEGIN
#define FRONTEND_MEASURE_BEGIN() ((void)0)
#endif
#ifndef FRONTEND_MEASURE_END
#define FRONTEND_MEASURE_END() ((void)0)
#endif
#ifndef FRONTEND_MEASURE_REPORT
#define FRONTEND_MEASURE_REPORT() ((void)0)
#endif

#define HOPS (TK_CLIP_SAMPLES / TK_AUDIO_FRONTEND_STRIDE_SAMPLES)

static void stop(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

static void fail(uint32_t clip, const char *call, tk_status status)
{
    uart_puts("error ");
    uart_put_int((int32_t)clip);
    uart_puts(": ");
    uart_puts(call);
    uart_puts(" returned ");
    uart_put_int((int32_t)status);
    uart_puts("\r\n");
    stop();
}

static void put_hex_floats(const float *v, int32_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (int32_t i = 0; i < n; i++) {
        union {
            float f;
            uint32_t u;
        } bits = {v[i]};
        uart_putc(' ');
        for (int shift = 28; shift >= 0; shift -= 4) {
            uart_putc((uint8_t)digits[(bits.u >> shift) & 0xfu]);
        }
    }
}

static void put_stages(const tk_frontend *fe, uint32_t clip, int32_t frame)
{
    const tk_frontend_buffers *b = &fe->buffers;
    uart_puts("stage ");
    uart_put_int((int32_t)clip);
    uart_putc(' ');
    uart_put_int(frame);
    uart_putc(':');
    put_hex_floats(b->power, fe->params->fft_size / 2 + 1);
    put_hex_floats(b->mel, fe->params->num_mels);
    put_hex_floats(b->log_mel, fe->params->num_mels);
    put_hex_floats(b->coefficients, fe->features);
    put_hex_floats(b->features, fe->features);
    uart_puts("\r\n");
}

int main(void)
{
    static tk_frontend fe;
    static int8_t input[TK_AUDIO_FRONTEND_INPUT_SIZE];
    uart_init(115200);
    uart_puts("tinykit frontend: ");
    uart_put_int((int32_t)tk_clip_count);
    uart_puts(" clips of ");
    uart_put_int(TK_CLIP_SAMPLES);
    uart_puts(" samples, ");
    uart_put_int(HOPS);
    uart_puts(" hops each\r\n");
    tk_status status = tk_audio_frontend_init(&fe);
    if (status != TK_OK) {
        fail(0, "tk_audio_frontend_init", status);
    }
    for (uint32_t n = 0; n < tk_clip_count; n++) {
        const int16_t *clip = tk_clips + n * TK_CLIP_SAMPLES;
        int32_t frame = 0;
        status = tk_frontend_reset(&fe);
        if (status != TK_OK) {
            fail(n, "tk_frontend_reset", status);
        }
        for (int32_t h = 0; h < HOPS; h++) {
            int32_t computed;
            FRONTEND_MEASURE_BEGIN();
            status = tk_frontend_push(&fe, clip + h * TK_AUDIO_FRONTEND_STRIDE_SAMPLES,
                                      TK_AUDIO_FRONTEND_STRIDE_SAMPLES, &computed);
            FRONTEND_MEASURE_END();
            if (status != TK_OK) {
                fail(n, "tk_frontend_push", status);
            }
            if (FRONTEND_STAGES && computed) {
                put_stages(&fe, n, frame);
            }
            frame += computed;
        }
        status = tk_frontend_copy(&fe, input);
        if (status != TK_OK) {
            fail(n, "tk_frontend_copy", status);
        }
        uart_put_row("clip", n, input, TK_AUDIO_FRONTEND_INPUT_SIZE);
    }
    FRONTEND_MEASURE_REPORT();
    uart_puts("done\r\n");
    stop();
}
