// tinykit audio capture for the Arduino Nano 33 BLE Sense (MP34DT05 PDM microphone).
//
// Streams 16 kHz, 16-bit mono audio in tinykit's binary frames (tinykit.capture.frames):
// every frame is COBS(header + payload + CRC-32) followed by 0x00, with a header of
// type (u8: 0x01 audio, 0x10 info), version (u8: 1), payload length (u16) and a
// sequence number (u32), little-endian. The first frame is an info frame
// {"board":"nano33ble","rate":16000,"format":"s16le"}. The receiver finds lost frames
// from sequence gaps and corrupt ones from the CRC, and never writes either as audio.
//
//   arduino-cli compile --fqbn arduino:mbed_nano:nano33ble boards/nano33ble/capture_audio
//   python -c "import tinykit; print(tinykit.capture.record('/dev/ttyACM0', label='yes', out='data', clips=20))"
//
// Library: PDM (part of the Arduino mbed core). tk_frame.c/.h: tinykit's frames, the
// same C as the emulated board's capture firmware (boards/common).

#include <PDM.h>

#include "tk_frame.h"

namespace {

constexpr int kSampleRate = 16000;
constexpr int kFrameSamples = 256;

// Ring buffer filled by the PDM interrupt, drained by loop().
constexpr int kRing = 8192;
volatile int16_t ring[kRing];
volatile uint32_t ring_head = 0;
uint32_t ring_tail = 0;
uint32_t sequence = 0;

// One frame: header, payload and CRC-32 packed, COBS-encoded, delimited (tk_frame.c,
// shared with tinykit's other capture firmware).
void SendFrame(uint8_t type, const uint8_t* payload, uint16_t n) {
  static uint8_t raw[2 * kFrameSamples + 64 + TK_FRAME_OVERHEAD];
  static uint8_t encoded[TK_FRAME_ENCODED_MAX(2 * kFrameSamples + 64)];
  size_t len = tk_frame_pack(type, sequence, payload, n, raw);
  Serial.write(encoded, tk_frame_encode(raw, len, encoded));
  sequence++;
}

void OnPdmData() {
  int16_t buffer[256];
  int bytes = PDM.available();
  if (bytes > static_cast<int>(sizeof(buffer))) bytes = sizeof(buffer);
  PDM.read(buffer, bytes);
  for (int i = 0; i < bytes / 2; i++) {
    ring[ring_head % kRing] = buffer[i];
    ring_head++;  // if loop() falls behind, old samples are overwritten: a sequence gap
  }
}

}  // namespace

void setup() {
  Serial.begin(921600);
  while (!Serial) {
  }
  PDM.onReceive(OnPdmData);
  if (!PDM.begin(1, kSampleRate)) {
    const char* msg = "{\"error\":\"PDM.begin failed\"}";
    SendFrame(TK_FRAME_TYPE_INFO, reinterpret_cast<const uint8_t*>(msg), strlen(msg));
    while (true) {
    }
  }
  const uint8_t zero = 0;
  Serial.write(&zero, 1);  // a delimiter first: the receiver starts clean
  const char* info = "{\"board\":\"nano33ble\",\"rate\":16000,\"format\":\"s16le\"}";
  SendFrame(TK_FRAME_TYPE_INFO, reinterpret_cast<const uint8_t*>(info), strlen(info));
}

void loop() {
  if (ring_head - ring_tail > kRing - kFrameSamples) {
    // Overrun: skip ahead and let the sequence number show the loss.
    uint32_t lost_frames = (ring_head - ring_tail) / kFrameSamples;
    ring_tail += lost_frames * kFrameSamples;
    sequence += lost_frames;
  }
  while (ring_head - ring_tail >= static_cast<uint32_t>(kFrameSamples)) {
    uint8_t payload[2 * kFrameSamples];
    for (int i = 0; i < kFrameSamples; i++) {
      int16_t s = ring[(ring_tail + i) % kRing];
      payload[2 * i] = s & 0xFF;
      payload[2 * i + 1] = (s >> 8) & 0xFF;
    }
    ring_tail += kFrameSamples;
    SendFrame(TK_FRAME_TYPE_AUDIO, payload, sizeof(payload));
  }
}
