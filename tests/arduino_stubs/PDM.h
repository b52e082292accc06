// Host stand-in for the Arduino PDM library: tests push samples, then call the
// callback the sketch registered, as the microphone's interrupt would.
#ifndef TINYKIT_PDM_STUB_H
#define TINYKIT_PDM_STUB_H
#include "Arduino.h"

struct HostPdm {
  void (*callback)() = nullptr;
  const int16_t* pending = nullptr;
  int pending_bytes = 0;
  void onReceive(void (*fn)()) { callback = fn; }
  bool begin(int, long) { return true; }
  int available() { return pending_bytes; }
  int read(void* out, int n) {
    if (n > pending_bytes) n = pending_bytes;
    memcpy(out, pending, n);
    pending += n / 2;
    pending_bytes -= n;
    return n;
  }
};
inline HostPdm PDM;

#endif
