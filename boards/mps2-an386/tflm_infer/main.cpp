// tinykit's tflm_infer firmware for QEMU mps2-an386 (Cortex-M4F): the int8 model
// (model_data.cc) run by the real TensorFlow Lite Micro + CMSIS-NN on every compiled-in
// input (tk_inputs.c). It prints on UART0, as the infer firmware does:
//
//   tinykit tflm: <count> inputs, arena <used> of <size> bytes
//   out <index>: <v0> <v1> ...          one line per input
//   instructions <index>: <n>           what Invoke() took (QEMU -icount, tk_cycles.h)
//   done
//
// or "error: <what>" and stops (AllocateTensors() or Invoke() failed, the model's
// tensors are not the size the build says). tinykit.deploy.tflm.run builds and boots it
// and compares the outputs with the TFLite Micro interpreter's.
#include <string.h>

#include "model_data.h"
#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"
extern "C" {
#include "firmware_config.h"
#include "tk_cycles.h"
#include "tk_inputs.h"
#include "tk_link.h"
#include "uart.h"
}

// C++ constructors of global objects (Serial, TFLM's statics): the startup code does
// not run them, so main does (their table: ../tflm/cxx.ld).
extern "C" void (*__tk_init_array_start[])(void);
extern "C" void (*__tk_init_array_end[])(void);

namespace {

alignas(16) uint8_t tensor_arena[TK_TFLM_ARENA_BYTES];

[[noreturn]] void halt() {
  for (;;) {
    __asm__ volatile("wfi");
  }
}

[[noreturn]] void stop(const char* what) {
  uart_puts("error: ");
  uart_puts(what);
  uart_puts("\r\n");
  halt();
}

void put_u64(uint64_t v) {
  char text[20];
  uart_write(text, tk_text_uint(text, 0, sizeof text, v));
}

}  // namespace

int main() {
  for (void (**f)(void) = __tk_init_array_start; f < __tk_init_array_end; ++f) (*f)();
  uart_init(115200);
  tk_cycles_init();
  const uint64_t overhead = tk_cycles_overhead();
  const tflite::Model* model = tflite::GetModel(g_model);
  if (model->version() != TFLITE_SCHEMA_VERSION) stop("model schema version is not TFLM's");
  static TinykitOpResolver resolver;
  if (RegisterOps(resolver) != kTfLiteOk) stop("could not register the model's ops");
  static tflite::MicroInterpreter interpreter(model, resolver, tensor_arena,
                                             TK_TFLM_ARENA_BYTES);
  if (interpreter.AllocateTensors() != kTfLiteOk) stop("AllocateTensors() failed");
  TfLiteTensor* input = interpreter.input(0);
  TfLiteTensor* output = interpreter.output(0);
  if (input->bytes != TK_MODEL_INPUT_SIZE || output->bytes != TK_MODEL_OUTPUT_SIZE) {
    stop("the model's input or output size is not TK_MODEL_INPUT_SIZE/OUTPUT_SIZE");
  }
  uart_puts("tinykit tflm: ");
  uart_put_int((int32_t)tk_input_count);
  uart_puts(" inputs, arena ");
  uart_put_int((int32_t)interpreter.arena_used_bytes());
  uart_puts(" of ");
  uart_put_int((int32_t)TK_TFLM_ARENA_BYTES);
  uart_puts(" bytes\r\n");
  for (uint32_t n = 0; n < tk_input_count; n++) {
    memcpy(input->data.int8, tk_inputs + n * TK_MODEL_INPUT_SIZE, TK_MODEL_INPUT_SIZE);
    const uint64_t t0 = tk_cycles_now();
    const TfLiteStatus status = interpreter.Invoke();
    const uint64_t ticks = tk_cycles_now() - t0;
    if (status != kTfLiteOk) stop("Invoke() failed");
    uart_put_row("out", n, output->data.int8, TK_MODEL_OUTPUT_SIZE);
    uart_puts("instructions ");
    uart_put_int((int32_t)n);
    uart_puts(": ");
    put_u64(tk_cycles_measured(ticks, overhead));
    uart_puts("\r\n");
  }
  uart_puts("done\r\n");
  halt();
}
