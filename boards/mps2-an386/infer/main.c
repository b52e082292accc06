/* tinykit inference check for QEMU mps2-an386 (Cortex-M4F): runs the generated plain-C
 * model (tk_model.c) on every compiled-in int8 input (tk_inputs.c) and prints each
 * output vector on UART0 as "out <index>: <v0> <v1> ...", then "done".
 * tinykit.deploy.emulated builds it, boots it and compares the outputs with the
 * TFLite Micro interpreter's. */
#include <stdint.h>

#include "tk_model.h"
#include "uart.h"

extern const int8_t tk_inputs[];
extern const uint32_t tk_input_count;

static void put_int(int32_t v)
{
    char buf[12];
    int i = sizeof buf;
    uint32_t u = v < 0 ? (uint32_t)(-v) : (uint32_t)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        buf[--i] = '-';
    }
    uart_write(buf + i, sizeof buf - (size_t)i);
}

int main(void)
{
    static int8_t out[TK_MODEL_OUTPUT_SIZE];
    uart_init(115200);
    uart_puts("tinykit infer: ");
    put_int((int32_t)tk_input_count);
    uart_puts(" inputs\r\n");
    for (uint32_t n = 0; n < tk_input_count; n++) {
        tk_model_invoke(tk_inputs + n * TK_MODEL_INPUT_SIZE, out);
        uart_puts("out ");
        put_int((int32_t)n);
        uart_putc(':');
        for (int i = 0; i < TK_MODEL_OUTPUT_SIZE; i++) {
            uart_putc(' ');
            put_int(out[i]);
        }
        uart_puts("\r\n");
    }
    uart_puts("done\r\n");
    for (;;) {
        __asm__ volatile("wfi");
    }
}
