/* tinykit classical-baseline check for QEMU mps2-an386 (Cortex-M4F): for every
 * compiled-in sensor window (tk_inputs.c, float32) computes the summary features
 * (tk_summary.c) and runs the tree ensemble (tk_trees.c, emlearn), and prints on UART0
 *
 *   tinykit trees: <count> inputs
 *   out <index>: <class>
 *   instructions <index>: <n>        features and trees together (QEMU -icount)
 *   done
 *
 * or "error <index>: tk_summary_features returned <status>" and stops. The output lines
 * are those of the infer firmware, read by tinykit.deploy.emulated.read_outputs. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_cycles.h"
#include "tk_inputs.h"
#include "tk_summary.h"
#include "tk_trees.h"
#include "uart.h"

#ifndef TK_ICOUNT_SHIFT
#error "the trees firmware counts instructions: build it with TK_ICOUNT_SHIFT (QEMU -icount)"
#endif

static void stop(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/* The features: static, so that the RAM they take shows in the ELF's symbols. */
static float tk_trees_features[TK_TREES_FEATURES];

int main(void)
{
    uart_init(115200);
    tk_cycles_init();
    const uint64_t overhead = tk_cycles_overhead();
    uart_puts("tinykit trees: ");
    uart_put_int((int32_t)tk_input_count);
    uart_puts(" inputs\r\n");
    for (uint32_t n = 0; n < tk_input_count; n++) {
        const uint64_t t0 = tk_cycles_now();
        const tk_status status = tk_summary_features(tk_inputs + n * TK_TREES_INPUT_SIZE,
                                                     TK_TREES_SAMPLES, TK_TREES_CHANNELS,
                                                     tk_trees_features);
        const int8_t label = (int8_t)tk_trees_predict(tk_trees_features, TK_TREES_FEATURES);
        const uint64_t ticks = tk_cycles_now() - t0;
        if (status != TK_OK) {
            uart_puts("error ");
            uart_put_int((int32_t)n);
            uart_puts(": tk_summary_features returned ");
            uart_put_int((int32_t)status);
            uart_puts("\r\n");
            stop();
        }
        uart_put_row("out", n, &label, 1);
        uart_put_count("instructions", n, tk_cycles_measured(ticks, overhead));
    }
    uart_puts("done\r\n");
    stop();
}
