// The rows fed to the IMU stand-ins (imu_rows.h). Linked before the core library, so
// its imu_replay() is the one the harness (imu_main.cpp) calls and the LSM9DS1
// stand-in in that library is not linked in.
#include "imu_rows.h"

#include "host_board.h"

namespace {
const float* g_rows = nullptr;
int g_count = 0;
int g_next = 0;
}  // namespace

void imu_replay(const float* rows, int count) {
  g_rows = rows;
  g_count = count;
  g_next = 0;
}

bool imu_row_ready() { return g_next < g_count; }

const float* imu_row_next() { return g_next < g_count ? g_rows + 6 * g_next++ : nullptr; }

const float* imu_row_current() { return g_next > 0 ? g_rows + 6 * (g_next - 1) : nullptr; }

namespace {
int Copy(const float* v, float& x, float& y, float& z) {
  if (v == nullptr) return 0;
  x = v[0];
  y = v[1];
  z = v[2];
  return 1;
}
}  // namespace

int imu_read_acceleration(float& x, float& y, float& z) { return Copy(imu_row_next(), x, y, z); }

int imu_read_gyroscope(float& x, float& y, float& z) {
  const float* r = imu_row_current();
  return Copy(r == nullptr ? nullptr : r + 3, x, y, z);
}
