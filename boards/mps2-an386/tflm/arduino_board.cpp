// What the emulated board (QEMU mps2-an386) supplies in place of a Nano 33 BLE Sense's
// core and sensor, behind the real headers' declarations: Serial on UART0, millis()
// from timer 0, and the real Arduino_LSM9DS1 class replaying compiled-in rows
// (tflm_imu.c) in place of the sensor's registers.
#include <Arduino.h>
#include <Arduino_LSM9DS1.h>
#include <Wire.h>

#include "firmware_config.h"
#include "tflm_imu.h"
#include "tk_cycles.h"
extern "C" {
#include "uart.h"
}

BoardSerial Serial;
TwoWire Wire;

// The handle the C++ runtime registers destructors of static objects under (crtbegin
// defines it; the board's startup code is its own). They never run: main never exits.
extern "C" {
void* __dso_handle = nullptr;
}

void BoardSerial::begin(unsigned long baudrate) { uart_init(static_cast<uint32_t>(baudrate)); }
void BoardSerial::begin(unsigned long baudrate, uint16_t) { begin(baudrate); }
void BoardSerial::end() {}
int BoardSerial::available() { return 0; }
int BoardSerial::peek() { return -1; }
int BoardSerial::read() { return uart_getc(); }
void BoardSerial::flush() {}
size_t BoardSerial::write(uint8_t c) {
  uart_putc(c);
  return 1;
}
size_t BoardSerial::write(const uint8_t* buffer, size_t size) {
  uart_write(buffer, size);
  return size;
}
BoardSerial::operator bool() { return true; }

extern "C" unsigned long micros(void) {
  return static_cast<unsigned long>(tk_cycles_now() / (BOARD_CLOCK_HZ / 1000000u));
}
extern "C" unsigned long millis(void) {
  return static_cast<unsigned long>(tk_cycles_now() / (BOARD_CLOCK_HZ / 1000u));
}
extern "C" void delayMicroseconds(unsigned int us) {
  const unsigned long start = micros();
  while (micros() - start < us) {
  }
}
extern "C" void delay(unsigned long ms) {
  const unsigned long start = millis();
  while (millis() - start < ms) {
  }
}
extern "C" void yield(void) {}

// ------------------------------------------------------------ Arduino_LSM9DS1
namespace {
int32_t g_next = 0;  // the row the next acceleration read returns
}

LSM9DS1Class::LSM9DS1Class(TwoWire& wire) : continuousMode(false), _wire(&wire) {}
LSM9DS1Class::~LSM9DS1Class() {}
int LSM9DS1Class::begin() { return 1; }
void LSM9DS1Class::end() {}
void LSM9DS1Class::setContinuousMode() { continuousMode = true; }
void LSM9DS1Class::setOneShotMode() { continuousMode = false; }
int LSM9DS1Class::readAcceleration(float& x, float& y, float& z) {
  if (g_next >= tk_imu_row_count) return 0;
  const float* r = tk_imu_rows + 6 * g_next++;
  x = r[0];
  y = r[1];
  z = r[2];
  return 1;
}
int LSM9DS1Class::accelerationAvailable() { return g_next < tk_imu_row_count ? 1 : 0; }
float LSM9DS1Class::accelerationSampleRate() { return 119.0f; }
int LSM9DS1Class::readGyroscope(float& x, float& y, float& z) {
  if (g_next == 0) return 0;
  const float* r = tk_imu_rows + 6 * (g_next - 1);
  x = r[3];
  y = r[4];
  z = r[5];
  return 1;
}
int LSM9DS1Class::gyroscopeAvailable() {
  return (g_next > 0 && g_next <= tk_imu_row_count) ? 1 : 0;
}
float LSM9DS1Class::gyroscopeSampleRate() { return 119.0f; }
int LSM9DS1Class::readMagneticField(float& x, float& y, float& z) {
  x = y = z = 0.0f;
  return 1;
}
int LSM9DS1Class::magneticFieldAvailable() { return 0; }
float LSM9DS1Class::magneticFieldSampleRate() { return 20.0f; }

LSM9DS1Class IMU_LSM9DS1(Wire);
