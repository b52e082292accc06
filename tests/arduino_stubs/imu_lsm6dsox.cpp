// Definitions of the real Arduino_LSM6DSOX 1.1.2 class (LSM6DSOX.h, unmodified)
// replaying recorded rows (imu_rows.h) in place of the sensor's registers: the
// declarations are the library's, so any drift in its API is a compile error here or
// in the sketch. Sample rates as the library sets them (LSM6DSOX.cpp: 104 Hz).
#include <Arduino_LSM6DSOX.h>

#include "imu_rows.h"

LSM6DSOXClass::LSM6DSOXClass(TwoWire& wire, uint8_t slaveAddress)
    : _wire(&wire), _spi(nullptr), _slaveAddress(slaveAddress), _csPin(-1), _irqPin(-1) {}
LSM6DSOXClass::~LSM6DSOXClass() {}

int LSM6DSOXClass::begin() { return 1; }
void LSM6DSOXClass::end() {}

int LSM6DSOXClass::readAcceleration(float& x, float& y, float& z) {
  return imu_read_acceleration(x, y, z);
}
float LSM6DSOXClass::accelerationSampleRate() { return 104.0f; }
int LSM6DSOXClass::accelerationAvailable() { return imu_row_ready() ? 1 : 0; }

int LSM6DSOXClass::readGyroscope(float& x, float& y, float& z) {
  return imu_read_gyroscope(x, y, z);
}
float LSM6DSOXClass::gyroscopeSampleRate() { return 104.0f; }
int LSM6DSOXClass::gyroscopeAvailable() { return imu_row_ready() ? 1 : 0; }

LSM6DSOXClass IMU_LSM6DSOX(Wire, 0x6A);
