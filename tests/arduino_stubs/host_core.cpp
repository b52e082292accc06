// Host definitions of what Arduino.h (stand-in) declares for the board: Serial on
// stdin/stdout, the clock from the host's monotonic clock, digital pins as a log on
// stderr ("pin <n> <0|1>" per digitalWrite, what a test reads the LEDs from).
#include <chrono>
#include <cstdio>
#include <thread>

#include "Arduino.h"
#include "Wire.h"

BoardSerial Serial;
TwoWire Wire;

void BoardSerial::begin(unsigned long) {}
void BoardSerial::begin(unsigned long, uint16_t) {}
void BoardSerial::end() {}
int BoardSerial::available() { return 0; }
int BoardSerial::peek() { return -1; }
int BoardSerial::read() { return -1; }
void BoardSerial::flush() { fflush(stdout); }
size_t BoardSerial::write(uint8_t c) { return fwrite(&c, 1, 1, stdout); }
size_t BoardSerial::write(const uint8_t* buffer, size_t size) {
  return fwrite(buffer, 1, size, stdout);
}
BoardSerial::operator bool() { return true; }

namespace {
const auto kStart = std::chrono::steady_clock::now();
}

extern "C" unsigned long micros(void) {
  return static_cast<unsigned long>(std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - kStart).count());
}
extern "C" unsigned long millis(void) { return micros() / 1000; }
extern "C" void delay(unsigned long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}
extern "C" void delayMicroseconds(unsigned int us) {
  std::this_thread::sleep_for(std::chrono::microseconds(us));
}
extern "C" void yield(void) {}

extern "C" void pinMode(pin_size_t, PinMode) {}
extern "C" void digitalWrite(pin_size_t pin, PinStatus status) {
  fprintf(stderr, "pin %u %d\n", static_cast<unsigned>(pin), status == HIGH ? 1 : 0);
}
