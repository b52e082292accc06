// Definitions of the real Seeed Arduino Mic 1.0 class for the nRF52840
// (hardware/nrf52840_adc.h, unmodified, included through mic.h) for a host; the base
// class MicClass is the library's own (hardware/base_mic.cpp, compiled from the
// library). What host_pdm_deliver delivers becomes the filled DMA buffer handed to the
// sketch's callback, as the library's PDM interrupt does (nrf52840_adc.cpp: buffers
// buf_0/buf_1 in turn, _onReceive(buf, count)). begin() takes the rates and channel
// counts the real one takes (16000 or 41667 Hz; 1 or 2) and refuses the rest.
#include <mic.h>

#include <cstring>

#include "host_board.h"

// The library's MicClass (its `delete` of a `new[]` array warns: not the sketch's).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include <hardware/base_mic.cpp>
#pragma GCC diagnostic pop

namespace {
bool g_started = false;
}  // namespace

NRF52840_ADC_Class::~NRF52840_ADC_Class() { end(); }

uint8_t NRF52840_ADC_Class::begin() {
  if (_sampling_rate != 16000 && _sampling_rate != 41667) return 0;
  if (_channel_cnt != 1 && _channel_cnt != 2) return 0;
  _gain = 20;  // DEFAULT_PDM_GAIN
  g_started = true;
  return 1;
}

void NRF52840_ADC_Class::end() { g_started = false; }
void NRF52840_ADC_Class::pause() {}
void NRF52840_ADC_Class::resume() {}
void NRF52840_ADC_Class::setGain(int gain) { _gain = gain; }

void host_pdm_deliver(const int16_t* samples, size_t bytes) {
  if (!g_started || MicClass::_onReceive == nullptr) return;
  uint16_t* buf = *MicClass::_buf_count_ptr ? MicClass::buf_1_ptr : MicClass::buf_0_ptr;
  const uint32_t count = static_cast<uint32_t>(bytes / 2);
  if (count > *MicClass::_buf_size_ptr / 2) return;  // more than a DMA buffer takes
  memcpy(buf, samples, bytes);
  *MicClass::_buf_count_ptr = (*MicClass::_buf_count_ptr + 1) % 2;
  MicClass::_onReceive(buf, count);
}
