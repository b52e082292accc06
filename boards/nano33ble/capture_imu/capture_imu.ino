// tinykit IMU capture for the Arduino Nano 33 BLE Sense (LSM9DS1).
//
// Prints what Arduino's IMU_Capture sketch prints, so tinykit.capture.record() and the
// IMU_Capture CSV loader read it unchanged: a header "aX,aY,aZ,gX,gY,gZ", then for each
// movement (|aX|+|aY|+|aZ| above kAccelerationThreshold g) kNumSamples rows of
// accelerometer (g, ±4 g) and gyroscope (deg/s, ±2000 dps) readings at 119 Hz, three
// decimals, and an empty line.
//
//   arduino-cli compile --fqbn arduino:mbed_nano:nano33ble boards/nano33ble/capture_imu
//   arduino-cli upload -p /dev/ttyACM0 --fqbn arduino:mbed_nano:nano33ble boards/nano33ble/capture_imu
//   python -c "import tinykit; print(tinykit.capture.record('/dev/ttyACM0', label='punch', out='data', gestures=10))"
//
// Library: Arduino_LSM9DS1.

#include <Arduino_LSM9DS1.h>

namespace {
constexpr float kAccelerationThreshold = 2.5f;
constexpr int kNumSamples = 119;
int samples_read = kNumSamples;
}  // namespace

void setup() {
  Serial.begin(115200);
  while (!Serial) {
  }
  if (!IMU.begin()) {
    Serial.println("Failed to initialize the IMU.");
    while (true) {
    }
  }
  Serial.println("aX,aY,aZ,gX,gY,gZ");
}

void loop() {
  float aX, aY, aZ, gX, gY, gZ;
  while (samples_read == kNumSamples) {
    if (IMU.accelerationAvailable()) {
      IMU.readAcceleration(aX, aY, aZ);
      if (fabs(aX) + fabs(aY) + fabs(aZ) >= kAccelerationThreshold) {
        samples_read = 0;
        break;
      }
    }
  }
  while (samples_read < kNumSamples) {
    if (IMU.accelerationAvailable() && IMU.gyroscopeAvailable()) {
      IMU.readAcceleration(aX, aY, aZ);
      IMU.readGyroscope(gX, gY, gZ);
      samples_read++;
      const float row[6] = {aX, aY, aZ, gX, gY, gZ};
      for (int c = 0; c < 6; ++c) {
        if (c) Serial.print(',');
        Serial.print(row[c], 3);
      }
      Serial.println();
      if (samples_read == kNumSamples) {
        Serial.println();
      }
    }
  }
}
