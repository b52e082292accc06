// Definitions of the real Arduino_BMI270_BMM150 1.2.3 class (BoschSensorClass.h,
// unmodified) replaying recorded rows (imu_rows.h) in place of the sensor's registers:
// the declarations are the library's, so any drift in its API is a compile error here
// or in the sketch. Sample rates are the library's defaults (BMI270.cpp: 100 Hz).
#include <Arduino_BMI270_BMM150.h>

#include "imu_rows.h"

BoschSensorClass::BoschSensorClass(TwoWire& wire) : _wire(&wire) {}

void BoschSensorClass::setContinuousMode() {}
void BoschSensorClass::oneShotMode() {}
int BoschSensorClass::begin(CfgBoshSensor_t) {
  _initialized = true;
  return 1;
}
void BoschSensorClass::end() { _initialized = false; }

int BoschSensorClass::readAcceleration(float& x, float& y, float& z) {
  return imu_read_acceleration(x, y, z);
}
int BoschSensorClass::accelerationAvailable() { return imu_row_ready() ? 1 : 0; }
float BoschSensorClass::accelerationSampleRate() { return 100.0f; }

int BoschSensorClass::readGyroscope(float& x, float& y, float& z) {
  return imu_read_gyroscope(x, y, z);
}
int BoschSensorClass::gyroscopeAvailable() { return imu_row_ready() ? 1 : 0; }
float BoschSensorClass::gyroscopeSampleRate() { return 100.0f; }

int BoschSensorClass::readMagneticField(float& x, float& y, float& z) {
  x = y = z = 0.0f;
  return 0;
}
int BoschSensorClass::magneticFieldAvailable() { return 0; }
float BoschSensorClass::magneticFieldSampleRate() { return 10.0f; }

int8_t BoschSensorClass::configure_sensor(struct bmm150_dev*) { return 0; }
int8_t BoschSensorClass::configure_sensor(struct bmi2_dev*) { return 0; }

BoschSensorClass IMU_BMI270_BMM150(Wire);
