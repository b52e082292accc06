// Test harness for IMU sketches: compile with -DSKETCH='"<name>.ino"'. Replays the rows
// of argv[1] (float32 aX,aY,aZ,gX,gY,gZ) through the IMU stand-in and runs setup()
// and then loop() argv[2] times (one gesture per loop).
#include SKETCH
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  FILE* f = fopen(argv[1], "rb");
  std::vector<float> rows(1 << 20);
  IMU.count = static_cast<int>(fread(rows.data(), sizeof(float) * 6, rows.size() / 6, f));
  IMU.rows = rows.data();
  setup();
  for (int g = 0; g < atoi(argv[2]); g++) loop();
  return 0;
}
