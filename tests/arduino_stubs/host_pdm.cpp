// Host definitions of the real mbed PDM library's class (PDM.h, unmodified; its
// PDMDoubleBuffer is compiled from the library too): a host has no PDM peripheral, so
// host_pdm_deliver plays the DMA interrupt: the samples become the readable half of
// the double buffer and the sketch's onReceive callback runs.
#include <PDM.h>

#include "host_board.h"

namespace {
const int16_t* g_pending = nullptr;
size_t g_pending_bytes = 0;
}  // namespace

PDMClass::PDMClass(int dinPin, int clkPin, int pwrPin)
    : _dinPin(dinPin), _clkPin(clkPin), _pwrPin(pwrPin), _channels(-1), _samplerate(-1),
      _gain(-1), _init(-1), _cutSamples(0), _onReceive(nullptr) {}
PDMClass::~PDMClass() {}

int PDMClass::begin(int channels, int sampleRate) {
  if (channels != 1 && channels != 2) return 0;
  _channels = channels;
  _samplerate = sampleRate;
  _doubleBuffer.reset();
  return 1;
}
void PDMClass::end() {}
int PDMClass::available() { return static_cast<int>(_doubleBuffer.available()); }
int PDMClass::read(void* buffer, size_t size) {
  return static_cast<int>(_doubleBuffer.read(buffer, size));
}
void PDMClass::onReceive(void (*function)(void)) { _onReceive = function; }
void PDMClass::setGain(int gain) { _gain = gain; }
void PDMClass::setBufferSize(int bufferSize) { _doubleBuffer.setSize(bufferSize); }
size_t PDMClass::getBufferSize() { return _doubleBuffer.getSize(); }

void PDMClass::IrqHandler(bool) {
  if (_doubleBuffer.available() != 0) return;  // the sketch did not keep up: overflow
  _doubleBuffer.swap(0);
  _doubleBuffer.write(g_pending, g_pending_bytes);
  if (_onReceive) _onReceive();
}

PDMClass PDM(0, 0, 0);

void host_pdm_deliver(const int16_t* samples, size_t bytes) {
  g_pending = samples;
  g_pending_bytes = bytes;
  PDM.IrqHandler(true);
}
