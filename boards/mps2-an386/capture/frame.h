/* The binary framed protocol of tinykit.capture.frames: COBS(header, payload,
 * CRC-32) then 0x00. Header (little-endian): type u8, version u8, length u16, seq u32. */
#ifndef CAPTURE_FRAME_H
#define CAPTURE_FRAME_H
#include <stddef.h>
#include <stdint.h>

#define FRAME_TYPE_AUDIO 0x01
#define FRAME_TYPE_INFO  0x10
#define FRAME_VERSION    1
#define FRAME_MAX_PAYLOAD 1024

uint32_t crc32(const uint8_t *data, size_t n);
size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
/* Sends one frame; flip_bit >= 0 flips that bit of the packed frame after the CRC
 * is computed (injected corruption for tests). */
void frame_send(uint8_t type, uint32_t seq, const void *payload, uint16_t n, int32_t flip_bit);

#endif
