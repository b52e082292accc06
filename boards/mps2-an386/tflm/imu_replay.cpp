// Definitions of the real Arduino_LSM9DS1 class (LSM9DS1.h, unmodified) that replay
// recorded rows (imu_replay) in place of the IMU's registers, which neither the
// emulated board nor a host has. The declarations are the library's: any drift in its
// API is a compile error here or in the sketch. Used by this folder's firmware and by
// tinykit's host tests of the generated sketches.
#include <Arduino_LSM9DS1.h>

#include "imu_replay.h"

namespace {
const float* g_rows = nullptr;  // aX,aY,aZ,gX,gY,gZ per row
int g_count = 0;
int g_next = 0;                 // the row the next acceleration read returns
}  // namespace

void imu_replay(const float* rows, int count) {
  g_rows = rows;
  g_count = count;
  g_next = 0;
}

LSM9DS1Class::LSM9DS1Class(TwoWire& wire) : continuousMode(false), _wire(&wire) {}
LSM9DS1Class::~LSM9DS1Class() {}

int LSM9DS1Class::begin() { return 1; }
void LSM9DS1Class::end() {}
void LSM9DS1Class::setContinuousMode() { continuousMode = true; }
void LSM9DS1Class::setOneShotMode() { continuousMode = false; }

int LSM9DS1Class::readAcceleration(float& x, float& y, float& z) {
  if (g_next >= g_count) return 0;
  const float* r = g_rows + 6 * g_next++;
  x = r[0];
  y = r[1];
  z = r[2];
  return 1;
}
int LSM9DS1Class::accelerationAvailable() { return g_next < g_count ? 1 : 0; }
float LSM9DS1Class::accelerationSampleRate() { return 119.0f; }

int LSM9DS1Class::readGyroscope(float& x, float& y, float& z) {
  if (g_next == 0) return 0;
  const float* r = g_rows + 6 * (g_next - 1);
  x = r[3];
  y = r[4];
  z = r[5];
  return 1;
}
int LSM9DS1Class::gyroscopeAvailable() { return (g_next > 0 && g_next <= g_count) ? 1 : 0; }
float LSM9DS1Class::gyroscopeSampleRate() { return 119.0f; }

int LSM9DS1Class::readMagneticField(float& x, float& y, float& z) {
  x = y = z = 0.0f;
  return 1;
}
int LSM9DS1Class::magneticFieldAvailable() { return 0; }
float LSM9DS1Class::magneticFieldSampleRate() { return 20.0f; }

LSM9DS1Class IMU_LSM9DS1(Wire);
