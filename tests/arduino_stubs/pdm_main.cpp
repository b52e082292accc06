// Test harness for microphone sketches (the main() of a host build): runs
// setup(), then delivers the s16le samples of argv[1] 128 at a time (what the Nano 33
// BLE's PDM interrupt delivers) and runs loop() after each delivery.
#include <cstdio>
#include <vector>

#include "host_board.h"

// The sketch (its own translation unit, as arduino-cli builds it).
extern "C" void setup();  // C linkage, as ArduinoCore-API's Common.h declares them
extern "C" void loop();

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  FILE* f = fopen(argv[1], "rb");
  if (f == nullptr) return 2;
  std::vector<int16_t> pcm(1 << 20);
  size_t n = fread(pcm.data(), 2, pcm.size(), f);
  fclose(f);
  setup();
  for (size_t i = 0; i + 128 <= n; i += 128) {
    host_pdm_deliver(pcm.data() + i, 256);
    loop();
  }
  fflush(stdout);
  return 0;
}
