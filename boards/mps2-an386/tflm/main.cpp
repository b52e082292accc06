// tinykit's tflm firmware for QEMU mps2-an386 (Cortex-M4F): a generated Arduino sketch
// built with the real TensorFlow Lite Micro + CMSIS-NN (Chirale_TensorFlowLite) and
// driven as an Arduino core drives it: setup(), then loop() once per compiled-in
// gesture (tflm_imu.c). What the sketch prints goes to UART0; then "done".
#include "imu_replay.h"
#include "tflm_imu.h"
extern "C" {
#include "tk_cycles.h"
#include "uart.h"
}

extern "C" void setup();
extern "C" void loop();

// C++ constructors of global objects: the startup code (shared with the C firmware)
// does not run them, so main does (their table: cxx.ld).
extern "C" void (*__tk_init_array_start[])(void);
extern "C" void (*__tk_init_array_end[])(void);

int main() {
  for (void (**f)(void) = __tk_init_array_start; f < __tk_init_array_end; ++f) (*f)();
  uart_init(115200);
  tk_cycles_init();
  imu_replay(tk_imu_rows, tk_imu_row_count);
  setup();
  for (int32_t g = 0; g < tk_imu_loops; ++g) loop();
  uart_puts("done\r\n");
  return 0;
}
