// Definitions of the real Seeed Arduino LSM6DS3 2.0.7 classes (LSM6DS3.h, unmodified)
// replaying recorded rows (imu_rows.h) in place of the sensor's registers: the
// declarations are the library's, so any drift in its API is a compile error here or
// in the sketch. STATUS_REG reports new data (XLDA, GDA) while rows are left; reading
// the X acceleration takes the next row, as reading the output registers clears XLDA.
#include <LSM6DS3.h>

#include "imu_rows.h"

LSM6DS3Core::LSM6DS3Core(uint8_t busType, uint8_t inputArg)
    : commInterface(busType), I2CAddress(inputArg), chipSelectPin(0) {}

status_t LSM6DS3Core::readRegister(uint8_t* output, uint8_t offset) {
  *output = 0;
  if (offset == LSM6DS3_ACC_GYRO_STATUS_REG && imu_row_ready()) {
    *output = LSM6DS3_ACC_GYRO_XLDA_DATA_AVAIL | LSM6DS3_ACC_GYRO_GDA_DATA_AVAIL;
  }
  return IMU_SUCCESS;
}

LSM6DS3::LSM6DS3(uint8_t busType, uint8_t inputArg) : LSM6DS3Core(busType, inputArg) {
  settings = SensorSettings();
  settings.accelRange = 16;          // the library's defaults (LSM6DS3.cpp)
  settings.accelSampleRate = 416;
  settings.gyroRange = 2000;
  settings.gyroSampleRate = 416;
  allOnesCounter = 0;
  nonSuccessCounter = 0;
}

// The real begin() writes settings' range and rate into CTRL1_XL/CTRL2_G (an
// unknown rate becomes 104 Hz) and checks WHO_AM_I; here there is no chip to set.
status_t LSM6DS3::begin() { return IMU_SUCCESS; }

namespace {
float Current(int i) {
  const float* r = imu_row_current();
  return r == nullptr ? 0.0f : r[i];
}
}  // namespace

float LSM6DS3::readFloatAccelX() {
  const float* r = imu_row_next();
  return r == nullptr ? 0.0f : r[0];
}
float LSM6DS3::readFloatAccelY() { return Current(1); }
float LSM6DS3::readFloatAccelZ() { return Current(2); }
float LSM6DS3::readFloatGyroX() { return Current(3); }
float LSM6DS3::readFloatGyroY() { return Current(4); }
float LSM6DS3::readFloatGyroZ() { return Current(5); }
