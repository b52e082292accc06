// What the emulated board (QEMU mps2-an386) supplies in place of a Nano 33 BLE Sense's
// core, behind the real headers' declarations: Serial on UART0 and millis() from
// timer 0. The IMU is imu_replay.cpp, fed the compiled-in rows (tflm_imu.c) by main.
#include <Arduino.h>
#include <Wire.h>

#include "firmware_config.h"
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
