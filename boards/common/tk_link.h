/* The receiving side of tinykit's frames (tk_frame.h sends them), and the request /
 * answer protocol of the device check (tinykit.deploy.device, the harness firmware).
 *
 * Receiving: feed every byte from the serial port to tk_frame_reader_feed; at each
 * 0x00 it COBS-decodes the bytes before it in place, checks version, length and
 * CRC-32 and says whether a good frame ended (TK_LINK_OK, *frame filled), a corrupt
 * one (an error code), or nothing yet (TK_LINK_PENDING). A frame longer than the
 * reader's buffer is dropped up to its delimiter and reported as TK_LINK_TOO_LONG;
 * nothing ever writes past the buffer. Plain C99, no board dependency.
 *
 * The device check, one request in flight (the host waits for each answer):
 *
 *   host -> board  HELLO  (0x20, no payload)            the board answers an INFO frame
 *                                                       (0x10, JSON: sizes, model CRC)
 *                                                       and expects seq + 1 next
 *   host -> board  INPUT  (0x21, u32 offset, bytes)     a chunk of one input tensor;
 *                                                       the chunk that completes it
 *                                                       runs the model
 *   board -> host  ANSWER (0x22, see tk_link_answer)    one per request, good or bad
 *
 * A request's header sequence number is the host's (+1 per request, the same when
 * resent); an answer's is the board's own (+1 per frame sent), and the answer holds
 * the request's. A request that is corrupt, out of sequence or malformed gets an
 * ANSWER with an error status; a resent request (the sequence number of the one just
 * answered) is answered again. */
#ifndef TK_LINK_H
#define TK_LINK_H
#include <stddef.h>
#include <stdint.h>

#include "tk_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TK_FRAME_TYPE_HELLO 0x20
#define TK_FRAME_TYPE_INPUT 0x21
#define TK_FRAME_TYPE_ANSWER 0x22
#define TK_LINK_INPUT_HEADER 4u    /* u32 offset before the bytes of an INPUT chunk */
#define TK_LINK_ANSWER_HEADER 20u  /* fields of an ANSWER before the output tensor */

typedef enum {
    TK_LINK_PENDING = -1,      /* no frame has ended yet */
    TK_LINK_OK = 0,            /* a good frame / a request done */
    TK_LINK_BAD_COBS = 1,      /* the bytes between two 0x00 are not COBS */
    TK_LINK_BAD_LENGTH = 2,    /* shorter than a header and CRC, or not its length field */
    TK_LINK_BAD_VERSION = 3,   /* not TK_FRAME_VERSION */
    TK_LINK_BAD_CRC = 4,       /* the CRC-32 does not match */
    TK_LINK_TOO_LONG = 5,      /* longer than the reader's buffer */
    TK_LINK_OUT_OF_SEQUENCE = 6,  /* neither the next request nor the last one again */
    TK_LINK_BAD_REQUEST = 7,   /* an unknown type, or a chunk at the wrong offset/size */
    TK_LINK_MODEL_ERROR = 8    /* the model returned an error (detail: its tk_status) */
} tk_link_status;

/* A good frame; payload points into the reader's buffer until the next feed. */
typedef struct {
    uint8_t type;
    uint32_t seq;
    const uint8_t *payload;
    uint16_t length;
} tk_frame_in;

/* Collects the encoded bytes of one frame; buf holds the longest frame expected
 * (TK_FRAME_ENCODED_MAX of its payload). */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;
} tk_frame_reader;

/* Decodes n COBS bytes (no delimiter) into out, which may be in itself; returns the
 * bytes decoded, or (size_t)-1 when the bytes are not COBS (a 0x00, a code past the
 * end). */
size_t tk_cobs_decode(const uint8_t *in, size_t n, uint8_t *out);

/* Checks one decoded frame (header, payload, CRC) and points frame into it. */
tk_link_status tk_frame_unpack(const uint8_t *raw, size_t len, tk_frame_in *frame);

void tk_frame_reader_init(tk_frame_reader *reader, uint8_t *buf, size_t cap);

/* One received byte: TK_LINK_PENDING, TK_LINK_OK (a good frame in *frame) or the
 * reason the frame that just ended is corrupt. Empty frames (0x00 0x00) are skipped. */
tk_link_status tk_frame_reader_feed(tk_frame_reader *reader, uint8_t byte, tk_frame_in *frame);

/* An ANSWER's fields, little-endian in its payload, followed by the output tensor
 * (output_size bytes when the model ran, none otherwise). */
typedef struct {
    uint8_t status;            /* tk_link_status */
    uint8_t detail;            /* the model's tk_status for TK_LINK_MODEL_ERROR */
    uint16_t stack;            /* bytes of stack the inference used; 0: not measured */
    uint32_t request_seq;      /* the request answered; for a corrupt one, the next expected */
    uint32_t received;         /* bytes of the current input received so far */
    uint64_t count;            /* instructions (or cycles) of the inference; 0: not measured */
} tk_link_answer;

/* Writes the fields into out (TK_LINK_ANSWER_HEADER bytes); returns that number. */
size_t tk_link_answer_pack(const tk_link_answer *answer, uint8_t *out);

/* Text for an INFO frame's JSON: appends s (or v in decimal) to out at `at`, never past
 * cap; returns the new length. */
size_t tk_text(char *out, size_t at, size_t cap, const char *s);
size_t tk_text_uint(char *out, size_t at, size_t cap, uint64_t v);

/* One number of an INFO frame. */
typedef struct {
    const char *key;
    uint32_t value;
} tk_info_field;

/* The start of an INFO frame's JSON object, {"app":..,"board":..,"hello_seq":.. and
 * the fields, into out (cap bytes); returns its length. The caller appends any other
 * members (",\"counter\":\"instructions\"") and the closing brace. */
size_t tk_link_info(char *out, size_t cap, const char *app, const char *board,
                    uint32_t hello_seq, const tk_info_field *fields, size_t count);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif
