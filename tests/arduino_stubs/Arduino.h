// Host stand-in for a board core's Arduino.h (the mbed core's is the model): the real
// ArduinoCore-API classes (Print, Stream, HardwareSerial, String, ...; found with
// -I <shared>/ArduinoCore-API), plus what only a board has, declared here and defined
// in host_core.cpp: Serial (on the host: stdin/stdout), millis()/micros()/delay().
// Compile with -DARDUINO=10819 -DARDUINO_ARCH_MBED, as arduino-cli does for the board.
#ifndef TINYKIT_HOST_ARDUINO_H
#define TINYKIT_HOST_ARDUINO_H

#include "api/ArduinoAPI.h"

#ifdef __cplusplus
#include "api/HardwareSerial.h"
#include "api/RingBuffer.h"
#endif

#ifdef __cplusplus
#include <cmath>
using namespace arduino;
using std::fabs;

// The board's serial port as the real core declares it: a HardwareSerial.
class HostSerial : public arduino::HardwareSerial {
 public:
  void begin(unsigned long baudrate) override;
  void begin(unsigned long baudrate, uint16_t config) override;
  void end() override;
  int available() override;
  int peek() override;
  int read() override;
  void flush() override;
  size_t write(uint8_t c) override;
  size_t write(const uint8_t* buffer, size_t size) override;
  using Print::write;
  operator bool() override;
};
extern HostSerial Serial;
#endif

#endif
