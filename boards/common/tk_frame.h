/* tinykit's binary frames (tinykit.capture.frames), shared by every capture firmware:
 * COBS(header, payload, CRC-32) then 0x00. Header, little-endian: type u8, version u8,
 * payload length u16, sequence number u32. The CRC-32 (IEEE, as zlib.crc32) covers
 * header and payload. Plain C99, no board dependency: the caller sends the bytes. */
#ifndef TK_FRAME_H
#define TK_FRAME_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TK_FRAME_TYPE_AUDIO 0x01
#define TK_FRAME_TYPE_INFO 0x10
#define TK_FRAME_VERSION 1
#define TK_FRAME_OVERHEAD 12u   /* header (8) and CRC (4) around the payload */
/* Bytes an encoded frame of n payload bytes may take, delimiter included. */
#define TK_FRAME_ENCODED_MAX(n) ((n) + TK_FRAME_OVERHEAD + ((n) + TK_FRAME_OVERHEAD) / 254u + 2u)

/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32) of n bytes. */
uint32_t tk_crc32(const uint8_t *data, size_t n);

/* Consistent overhead byte stuffing: writes no 0x00; returns the bytes written to out
 * (at most n + n / 254 + 1). */
size_t tk_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);

/* Header, payload and CRC of one frame into raw (n + TK_FRAME_OVERHEAD bytes, which it
 * returns), before COBS. */
size_t tk_frame_pack(uint8_t type, uint32_t seq, const void *payload, uint16_t n, uint8_t *raw);

/* COBS of a packed frame followed by the 0x00 delimiter: the bytes to send (returns
 * their number, at most TK_FRAME_ENCODED_MAX of the payload). */
size_t tk_frame_encode(const uint8_t *raw, size_t len, uint8_t *out);

/* tk_frame_pack then tk_frame_encode: the bytes to send for one frame, in out (raw:
 * n + TK_FRAME_OVERHEAD bytes of work space); returns their number. */
size_t tk_frame_build(uint8_t type, uint32_t seq, const void *payload, uint16_t n,
                      uint8_t *raw, uint8_t *out);

/* Little-endian fields: writes `bytes` bytes of v at p and returns p + bytes; reads. */
uint8_t *tk_put_le(uint8_t *p, uint64_t v, int bytes);
uint64_t tk_get_le(const uint8_t *p, int bytes);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif
