/* The board's serial port as the real Arduino cores declare it: a HardwareSerial of
 * ArduinoCore-API. Each stand-in core defines its methods: the tflm firmware on UART0
 * (arduino_board.cpp), tinykit's host tests on stdin/stdout
 * (tests/arduino_stubs/host_core.cpp). Included by both their Arduino.h. */
#ifndef TK_BOARD_SERIAL_H
#define TK_BOARD_SERIAL_H

#include "api/HardwareSerial.h"

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
