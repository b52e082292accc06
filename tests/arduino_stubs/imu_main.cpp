// Test harness for IMU sketches (the main() of a host build, the way the core's main()
// calls setup() and loop()): replays the rows
// of argv[1] (float32 aX,aY,aZ,gX,gY,gZ) through the IMU (imu_replay) and runs
// setup() and then loop() argv[2] times (one gesture per loop).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "host_board.h"

// The sketch (its own translation unit, as arduino-cli builds it).
extern "C" void setup();  // C linkage, as ArduinoCore-API's Common.h declares them
extern "C" void loop();

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  FILE* f = fopen(argv[1], "rb");
  if (f == nullptr) return 2;
  std::vector<float> rows(1 << 20);
  size_t count = fread(rows.data(), sizeof(float) * 6, rows.size() / 6, f);
  fclose(f);
  imu_replay(rows.data(), static_cast<int>(count));
  setup();
  for (int g = 0; g < atoi(argv[2]); g++) loop();
  fflush(stdout);
  return 0;
}
