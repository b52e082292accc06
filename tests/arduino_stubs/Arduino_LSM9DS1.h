// Host stand-in for Arduino_LSM9DS1: replays readings the test supplies, one row per
// acceleration read (a gyroscope read returns the same row's gyroscope values).
#ifndef TINYKIT_LSM9DS1_STUB_H
#define TINYKIT_LSM9DS1_STUB_H
#include "Arduino.h"

struct HostImu {
  const float* rows = nullptr;  // aX,aY,aZ,gX,gY,gZ per row
  int count = 0;
  int next = 0;                 // the row the next acceleration read returns
  bool begin() { return true; }
  bool accelerationAvailable() { return next < count; }
  bool gyroscopeAvailable() { return next <= count && next > 0; }
  void readAcceleration(float& x, float& y, float& z) {
    const float* r = rows + 6 * next++;
    x = r[0]; y = r[1]; z = r[2];
  }
  void readGyroscope(float& x, float& y, float& z) {
    const float* r = rows + 6 * (next - 1);
    x = r[3]; y = r[4]; z = r[5];
  }
};
inline HostImu IMU;

#endif
