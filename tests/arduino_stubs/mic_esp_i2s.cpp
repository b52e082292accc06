// Definitions of the ESP32 core's I2SClass (the stand-in esp32/ESP_I2S.h, ESP_I2S.h of
// core 3.0.7) for a host: PDM RX only. What host_pdm_deliver delivers (the samples the
// microphone's DMA would have) is what readBytes() reads, 16-bit mono; begin() refuses
// what the XIAO ESP32S3 Sense's microphone cannot give (another mode, width or slot
// mode, no pins). The delivered stream is sound at 16 kHz (the harness's recording):
// begun at another rate, the microphone samples it at that rate (nearest sample), as
// the real one would, and the sketch hears it slower or faster.
#include <ESP_I2S.h>

#include <cstring>
#include <deque>

#include "host_board.h"

namespace {
constexpr uint64_t kStreamRate = 16000;
std::deque<int16_t> g_fifo;
I2SClass* g_started = nullptr;
std::deque<int16_t> g_heard;   // delivered, not yet sampled
uint64_t g_heard_first = 0;    // the stream index of g_heard.front()
uint64_t g_sampled = 0;        // samples taken at the configured rate
}  // namespace

I2SClass::I2SClass() {}
I2SClass::~I2SClass() {}

void I2SClass::setPinsPdmRx(int8_t clk, int8_t din0, int8_t, int8_t, int8_t) {
  _rx_clk = clk;
  _rx_din0 = din0;
}

bool I2SClass::begin(i2s_mode_t mode, uint32_t rate, i2s_data_bit_width_t bits_cfg,
                     i2s_slot_mode_t ch, int8_t) {
  if (mode != I2S_MODE_PDM_RX || bits_cfg != I2S_DATA_BIT_WIDTH_16BIT ||
      ch != I2S_SLOT_MODE_MONO || _rx_clk < 0 || _rx_din0 < 0) {
    return false;
  }
  rx_sample_rate = rate;
  rx_data_bit_width = bits_cfg;
  rx_slot_mode = ch;
  rx_started = true;
  g_started = this;
  return true;
}

bool I2SClass::end() {
  rx_started = false;
  g_started = nullptr;
  return true;
}

size_t I2SClass::readBytes(char* buffer, size_t size) {
  size_t n = 0;
  while (rx_started && n + 2 <= size && !g_fifo.empty()) {
    const int16_t s = g_fifo.front();
    g_fifo.pop_front();
    memcpy(buffer + n, &s, 2);
    n += 2;
  }
  return n;
}

uint32_t I2SClass::rxSampleRate() { return rx_sample_rate; }
int I2SClass::available() { return rx_started ? static_cast<int>(g_fifo.size() * 2) : -1; }
int I2SClass::peek() { return -1; }
int I2SClass::read() { return -1; }
size_t I2SClass::write(uint8_t) { return 0; }

void host_pdm_deliver(const int16_t* samples, size_t bytes) {
  if (g_started == nullptr) return;  // not started: the samples are lost
  const uint64_t rate = g_started->rxSampleRate();
  g_heard.insert(g_heard.end(), samples, samples + bytes / 2);
  while (true) {
    const uint64_t at = g_sampled * kStreamRate / rate;  // the stream sample heard next
    if (at >= g_heard_first + g_heard.size()) break;
    while (g_heard_first < at) {
      g_heard.pop_front();
      g_heard_first++;
    }
    g_fifo.push_back(g_heard.front());
    g_sampled++;
  }
}
