/* tinykit capture firmware for QEMU mps2-an386: streams compiled-in sensor data on
 * UART0 with the protocols of tinykit.capture.
 *
 *   CAPTURE_MODE_imu:   IMU_Capture CSV, header then each gesture (119 rows of
 *                       aX,aY,aZ,gX,gY,gZ with 3 decimals) and an empty line;
 *   CAPTURE_MODE_audio: a 0x00, an info frame, then audio frames of FRAME_SAMPLES
 *                       int16 samples (COBS, sequence numbers, CRC-32).
 *
 * LOOPS passes over the data (0: forever). CORRUPT_EVERY n > 0 flips one bit in
 * every n-th audio frame after its CRC is computed, to test the receiver. PACE=1
 * sends at the sensor's rate (119 rows/s, 1 s between gestures; audio at its sample
 * rate) timed by SysTick, as a real board does; PACE=0 sends as fast as UART0 goes.
 * These settings come from the generated firmware_config.h (see the Makefile). */
#include <stdint.h>

#include "capture_data.h"
#include "firmware_config.h"
#include "frame.h"
#include "uart.h"

#ifndef LOOPS
#define LOOPS 1
#endif
#ifndef CORRUPT_EVERY
#define CORRUPT_EVERY 0
#endif
#ifndef FRAME_SAMPLES
#define FRAME_SAMPLES 256
#endif
#ifndef BAUD
#define BAUD 115200
#endif
#ifndef PACE
#define PACE 0
#endif
#define IMU_RATE_HZ 119u

/* SysTick, polled: tick_start(period) then tick_wait() once per period. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)

static void tick_start(uint32_t cycles)
{
    SYST_RVR = cycles - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x5u;              /* enable, processor clock, no interrupt */
}

static void tick_wait(void)
{
    if (PACE) {
        while (!(SYST_CSR & 0x10000u)) {   /* COUNTFLAG: a period has passed */
        }
    }
}

#if defined(CAPTURE_MODE_imu)
/* m / 1000 with three decimals ("-0.512"), as IMU_Capture prints its readings. */
static void put_milli(int32_t m)
{
    uint32_t v = m < 0 ? 0u - (uint32_t)m : (uint32_t)m;
    const char frac[4] = {'.', (char)('0' + v / 100 % 10), (char)('0' + v / 10 % 10),
                          (char)('0' + v % 10)};
    if (m < 0) {
        uart_putc('-');
    }
    uart_put_int((int32_t)(v / 1000));
    uart_write(frac, sizeof frac);
}

static void stream_imu(void)
{
    uart_puts("aX,aY,aZ,gX,gY,gZ\r\n");
    tick_start(BOARD_CLOCK_HZ / IMU_RATE_HZ);
    for (uint32_t pass = 0; LOOPS == 0 || pass < LOOPS; pass++) {
        const int32_t *v = imu_milli;
        for (uint32_t g = 0; g < imu_gesture_count; g++) {
            for (uint32_t idle = 0; PACE && idle < IMU_RATE_HZ; idle++) {
                tick_wait();              /* about 1 s between gestures */
            }
            for (int r = 0; r < IMU_ROWS_PER_GESTURE; r++) {
                tick_wait();
                for (int c = 0; c < IMU_COLUMNS; c++) {
                    if (c) {
                        uart_putc(',');
                    }
                    put_milli(*v++);
                }
                uart_puts("\r\n");
            }
            uart_puts("\r\n");
        }
    }
}

#endif

#if defined(CAPTURE_MODE_audio)
static uint32_t rng_state = 12345u;

static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static void stream_audio(void)
{
    static const char info[] = "{\"board\":\"" BOARD_NAME "\",\"rate\":" AUDIO_RATE_TEXT
        ",\"format\":\"s16le\",\"channels\":1,\"frame_samples\":" FRAME_SAMPLES_TEXT "}";
    uint32_t seq = 0;
    uart_putc(0);
    frame_send(TK_FRAME_TYPE_INFO, seq++, info, sizeof info - 1, -1);
    tick_start((uint32_t)(((uint64_t)BOARD_CLOCK_HZ * FRAME_SAMPLES) / audio_rate));
    for (uint32_t pass = 0; LOOPS == 0 || pass < LOOPS; pass++) {
        for (uint32_t start = 0; start < audio_sample_count; start += FRAME_SAMPLES) {
            uint32_t n = audio_sample_count - start;
            if (n > FRAME_SAMPLES) {
                n = FRAME_SAMPLES;
            }
            tick_wait();
            int32_t flip = -1;
            if (CORRUPT_EVERY > 0 && seq % CORRUPT_EVERY == CORRUPT_EVERY - 1) {
                flip = (int32_t)(rng() % ((8u + 2u * n + 4u) * 8u));
            }
            frame_send(TK_FRAME_TYPE_AUDIO, seq++, audio_pcm + start, (uint16_t)(2u * n), flip);
        }
    }
}

#endif

int main(void)
{
    uart_init(BAUD);
#if defined(CAPTURE_MODE_imu)
    stream_imu();
#elif defined(CAPTURE_MODE_audio)
    stream_audio();
#else
#error "firmware_config.h defines neither CAPTURE_MODE_imu nor CAPTURE_MODE_audio"
#endif
    for (;;) {
        __asm__ volatile("wfi");
    }
}
