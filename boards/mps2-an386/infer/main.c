/* tinykit inference check for QEMU mps2-an386 (Cortex-M4F): runs the generated plain-C
 * model (tk_model.c) on every compiled-in int8 input (tk_inputs.c) and prints on UART0
 *
 *   tinykit infer: <count> inputs
 *   out <index>: <v0> <v1> ...          one line per input
 *   instructions <index>: <n>           what tk_model_invoke took (TK_ICOUNT_SHIFT set)
 *   done
 *
 * or, when the model returns a non-zero status, "error <index>: tk_model_invoke
 * returned <status>" and stops. A fault prints a FAULT line (startup.c).
 * tinykit.deploy.emulated builds it, boots it (QEMU -icount: instructions are counted
 * exactly, boards/common/tk_cycles.h) and compares the outputs with the TFLite Micro
 * interpreter's.
 *
 * TK_CYCLES_TEST=1 prints, before the inputs, "loop <n>: <instructions>" for counted
 * loops of 2 n + 1 instructions, to check the instruction count. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_cycles.h"
#include "tk_link.h"
#include "tk_inputs.h"
#include "tk_model.h"
#include "uart.h"

#ifndef TK_FAULT_TEST
#define TK_FAULT_TEST 0     /* 1: read from an unmapped address before the first output */
#endif
#ifndef TK_HANG_TEST
#define TK_HANG_TEST 0      /* 1: stop silently before the first output */
#endif
#ifndef TK_CYCLES_TEST
#define TK_CYCLES_TEST 0    /* 1: time loops of a known number of instructions first */
#endif

static void stop(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

#ifdef TK_ICOUNT_SHIFT
/* 2 n + 1 instructions: mov, then n times subs and bne. (GCC passes Thumb-1 inline
 * assembly, the Cortex-M0's, in divided syntax: the loop asks for unified.) */
#if defined(__thumb2__)
#define TK_UNIFIED(text) text
#else
#define TK_UNIFIED(text) ".syntax unified\n" text ".syntax divided\n"
#endif
__attribute__((noinline)) static void count_loop(uint32_t n)
{
    __asm__ volatile(TK_UNIFIED("mov r0, %0\n"
                                "1: subs r0, r0, #1\n"
                                "bne 1b\n") : : "r"(n) : "r0", "cc");
}

static void cycles_test(uint64_t overhead)
{
    static const uint32_t loops[] = {1, 1000, 123457, 3000000};
    for (unsigned i = 0; i < sizeof loops / sizeof loops[0]; i++) {
        const uint64_t t0 = tk_cycles_now();
        count_loop(loops[i]);
        const uint64_t ticks = tk_cycles_now() - t0;
        uart_puts("loop ");
        uart_put_u64(loops[i]);
        uart_puts(": ");
        uart_put_u64(tk_cycles_measured(ticks, overhead));
        uart_puts("\r\n");
    }
}
#endif

int main(void)
{
    static int8_t out[TK_MODEL_OUTPUT_SIZE];
    uart_init(115200);
    tk_cycles_init();
    const uint64_t overhead = tk_cycles_overhead();
    uart_puts("tinykit infer: ");
    uart_put_int((int32_t)tk_input_count);
    uart_puts(" inputs\r\n");
    if (TK_FAULT_TEST) {
        (void)*(volatile uint32_t *)0xDEAD0000u;
    }
    if (TK_HANG_TEST) {
        stop();
    }
#ifdef TK_ICOUNT_SHIFT
    if (TK_CYCLES_TEST) {
        cycles_test(overhead);
    }
#endif
    for (uint32_t n = 0; n < tk_input_count; n++) {
        const uint64_t t0 = tk_cycles_now();
        tk_status status = tk_model_invoke(tk_inputs + n * TK_MODEL_INPUT_SIZE, out);
        const uint64_t ticks = tk_cycles_now() - t0;
        if (status != TK_OK) {
            uart_puts("error ");
            uart_put_int((int32_t)n);
            uart_puts(": tk_model_invoke returned ");
            uart_put_int((int32_t)status);
            uart_puts("\r\n");
            stop();
        }
        uart_put_row("out", n, out, TK_MODEL_OUTPUT_SIZE);
#ifdef TK_ICOUNT_SHIFT
        uart_put_count("instructions", n, tk_cycles_measured(ticks, overhead));
#else
        (void)ticks;
        (void)overhead;
#endif
    }
    uart_puts("done\r\n");
    stop();
}
