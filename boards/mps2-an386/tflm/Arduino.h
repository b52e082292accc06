/* Arduino.h of the tflm firmware: the real ArduinoCore-API classes (Print, Stream,
 * HardwareSerial, String ...; its folder is passed in as ARDUINO_API) and what the
 * emulated board supplies in place of a Nano 33 BLE's core: Serial on UART0, the clock
 * from timer 0 (tk_cycles). Defined in arduino_board.cpp. */
#ifndef TK_TFLM_ARDUINO_H
#define TK_TFLM_ARDUINO_H

#include "api/ArduinoAPI.h"

#ifdef __cplusplus
#include <math.h>

#include "api/HardwareSerial.h"
#include "api/RingBuffer.h"
using namespace arduino;

/* The board's serial port, as the real cores declare it: a HardwareSerial (UART0). */
class BoardSerial : public arduino::HardwareSerial {
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
extern BoardSerial Serial;
#endif

#endif
