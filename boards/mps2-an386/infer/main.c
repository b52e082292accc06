/* tinykit inference check for QEMU mps2-an386 (Cortex-M4F): runs the generated plain-C
 * model (tk_model.c) on every compiled-in int8 input (tk_inputs.c) and prints on UART0
 *
 *   tinykit infer: <count> inputs
 *   out <index>: <v0> <v1> ...          one line per input
 *   done
 *
 * or, when the model returns a non-zero status, "error <index>: tk_model_invoke
 * returned <status>" and stops. A fault prints a FAULT line (startup.c).
 * tinykit.deploy.emulated builds it, boots it and compares the outputs with the
 * TFLite Micro interpreter's. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_inputs.h"
#include "tk_model.h"
#include "uart.h"

#ifndef TK_FAULT_TEST
#define TK_FAULT_TEST 0     /* 1: read from an unmapped address before the first output */
#endif
#ifndef TK_HANG_TEST
#define TK_HANG_TEST 0      /* 1: stop silently before the first output */
#endif

static void stop(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

int main(void)
{
    static int8_t out[TK_MODEL_OUTPUT_SIZE];
    uart_init(115200);
    uart_puts("tinykit infer: ");
    uart_put_int((int32_t)tk_input_count);
    uart_puts(" inputs\r\n");
    if (TK_FAULT_TEST) {
        (void)*(volatile uint32_t *)0xDEAD0000u;
    }
    if (TK_HANG_TEST) {
        stop();
    }
    for (uint32_t n = 0; n < tk_input_count; n++) {
        tk_status status = tk_model_invoke(tk_inputs + n * TK_MODEL_INPUT_SIZE, out);
        if (status != TK_OK) {
            uart_puts("error ");
            uart_put_int((int32_t)n);
            uart_puts(": tk_model_invoke returned ");
            uart_put_int((int32_t)status);
            uart_puts("\r\n");
            stop();
        }
        uart_puts("out ");
        uart_put_int((int32_t)n);
        uart_putc(':');
        for (int i = 0; i < TK_MODEL_OUTPUT_SIZE; i++) {
            uart_putc(' ');
            uart_put_int(out[i]);
        }
        uart_puts("\r\n");
    }
    uart_puts("done\r\n");
    stop();
}
