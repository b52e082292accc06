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
// Library: PDM (part of the Arduino mbed core).

#include <PDM.h>

namespace {

constexpr int kSampleRate = 16000;
constexpr int kFrameSamples = 256;
constexpr uint8_t kTypeAudio = 0x01;
constexpr uint8_t kTypeInfo = 0x10;
constexpr uint8_t kVersion = 1;

// Ring buffer filled by the PDM interrupt, drained by loop().
constexpr int kRing = 8192;
volatile int16_t ring[kRing];
volatile uint32_t ring_head = 0;
uint32_t ring_tail = 0;
uint32_t sequence = 0;

uint32_t crc_table[256];

void CrcInit() {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    crc_table[i] = c;
  }
}

uint32_t Crc32(const uint8_t* data, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = crc_table[(c ^ *data++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// Consistent overhead byte stuffing: no 0x00 in the output; returns its length.
size_t CobsEncode(const uint8_t* in, size_t n, uint8_t* out) {
  size_t code_at = 0, o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFF) {
        out[code_at] = code;
        code_at = o++;
        code = 1;
      }
    }
  }
  out[code_at] = code;
  return o;
}

void SendFrame(uint8_t type, const uint8_t* payload, uint16_t n) {
  static uint8_t raw[8 + 2 * kFrameSamples + 4 + 64];
  static uint8_t encoded[sizeof(raw) + sizeof(raw) / 254 + 2];
  raw[0] = type;
  raw[1] = kVersion;
  raw[2] = n & 0xFF;
  raw[3] = n >> 8;
  for (int i = 0; i < 4; i++) raw[4 + i] = (sequence >> (8 * i)) & 0xFF;
  memcpy(raw + 8, payload, n);
  uint32_t crc = Crc32(raw, 8 + n);
  for (int i = 0; i < 4; i++) raw[8 + n + i] = (crc >> (8 * i)) & 0xFF;
  size_t m = CobsEncode(raw, 8 + n + 4, encoded);
  encoded[m++] = 0;
  Serial.write(encoded, m);
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
  CrcInit();
  PDM.onReceive(OnPdmData);
  if (!PDM.begin(1, kSampleRate)) {
    const char* msg = "{\"error\":\"PDM.begin failed\"}";
    SendFrame(kTypeInfo, reinterpret_cast<const uint8_t*>(msg), strlen(msg));
    while (true) {
    }
  }
  const uint8_t zero = 0;
  Serial.write(&zero, 1);  // a delimiter first: the receiver starts clean
  const char* info = "{\"board\":\"nano33ble\",\"rate\":16000,\"format\":\"s16le\"}";
  SendFrame(kTypeInfo, reinterpret_cast<const uint8_t*>(info), strlen(info));
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
    SendFrame(kTypeAudio, payload, sizeof(payload));
  }
}
