// Host stand-ins for the few Arduino APIs tinykit's capture sketches use, so tests can
// compile a sketch with the host compiler and check what it writes on the serial port.
#ifndef TINYKIT_ARDUINO_STUB_H
#define TINYKIT_ARDUINO_STUB_H
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

using std::fabs;

struct HostSerial {
  void begin(long) {}
  explicit operator bool() const { return true; }
  size_t write(const uint8_t* data, size_t n) { return fwrite(data, 1, n, stdout); }
  size_t write(uint8_t c) { return fwrite(&c, 1, 1, stdout); }
  void print(char c) { fputc(c, stdout); }
  void print(const char* s) { fputs(s, stdout); }
  void print(float v, int digits) { printf("%.*f", digits, static_cast<double>(v)); }
  void println() { fputs("\r\n", stdout); }
  void println(const char* s) { print(s); println(); }
  void println(float v, int digits) { print(v, digits); println(); }
};
inline HostSerial Serial;

#endif
