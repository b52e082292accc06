/* Receiving tinykit's frames, and the device check's answers (see tk_link.h). */
#include "tk_link.h"

size_t tk_cobs_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i];
        if (code == 0 || (size_t)code > n - i) {
            return (size_t)-1;
        }
        /* Forward copy: o <= i always, so decoding in place is safe. */
        for (size_t k = 1; k < code; k++) {
            if (in[i + k] == 0) {
                return (size_t)-1;
            }
            out[o++] = in[i + k];
        }
        i += code;
        if (code < 0xFF && i < n) {
            out[o++] = 0;
        }
    }
    return o;
}

tk_link_status tk_frame_unpack(const uint8_t *raw, size_t len, tk_frame_in *frame)
{
    if (len < TK_FRAME_OVERHEAD) {
        return TK_LINK_BAD_LENGTH;
    }
    uint16_t n = (uint16_t)(uint32_t)tk_get_le(raw + 2, 2);
    if ((size_t)n + TK_FRAME_OVERHEAD != len) {
        return TK_LINK_BAD_LENGTH;
    }
    if (tk_crc32(raw, 8u + n) != (uint32_t)tk_get_le(raw + 8 + n, 4)) {
        return TK_LINK_BAD_CRC;
    }
    if (raw[1] != TK_FRAME_VERSION) {
        return TK_LINK_BAD_VERSION;
    }
    frame->type = raw[0];
    frame->seq = (uint32_t)tk_get_le(raw + 4, 4);
    frame->payload = raw + 8;
    frame->length = n;
    return TK_LINK_OK;
}

void tk_frame_reader_init(tk_frame_reader *reader, uint8_t *buf, size_t cap)
{
    reader->buf = buf;
    reader->cap = cap;
    reader->len = 0;
    reader->overflow = 0;
}

tk_link_status tk_frame_reader_feed(tk_frame_reader *reader, uint8_t byte, tk_frame_in *frame)
{
    if (byte != 0) {
        if (reader->len < reader->cap) {
            reader->buf[reader->len++] = byte;
        } else {
            reader->overflow = 1;     /* keep dropping until the delimiter */
        }
        return TK_LINK_PENDING;
    }
    size_t len = reader->len;
    int overflow = reader->overflow;
    reader->len = 0;
    reader->overflow = 0;
    if (overflow) {
        return TK_LINK_TOO_LONG;
    }
    if (len == 0) {
        return TK_LINK_PENDING;
    }
    size_t raw = tk_cobs_decode(reader->buf, len, reader->buf);
    if (raw == (size_t)-1) {
        return TK_LINK_BAD_COBS;
    }
    return tk_frame_unpack(reader->buf, raw, frame);
}

size_t tk_link_answer_pack(const tk_link_answer *answer, uint8_t *out)
{
    out[0] = answer->status;
    out[1] = answer->detail;
    tk_put_le(out + 2, answer->stack, 2);
    tk_put_le(out + 4, answer->request_seq, 4);
    tk_put_le(out + 8, answer->received, 4);
    tk_put_le(out + 12, answer->count, 8);
    return TK_LINK_ANSWER_HEADER;
}

size_t tk_text(char *out, size_t at, size_t cap, const char *s)
{
    while (*s && at < cap) {
        out[at++] = *s++;
    }
    return at;
}

size_t tk_text_uint(char *out, size_t at, size_t cap, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n && at < cap) {
        out[at++] = digits[--n];
    }
    return at;
}

size_t tk_link_info(char *out, size_t cap, const char *app, const char *board,
                    uint32_t hello_seq, const tk_info_field *fields, size_t count)
{
    size_t n = tk_text(out, 0, cap, "{\"app\":\"");
    n = tk_text(out, tk_text(out, n, cap, app), cap, "\",\"board\":\"");
    n = tk_text(out, tk_text(out, n, cap, board), cap, "\",\"hello_seq\":");
    n = tk_text_uint(out, n, cap, hello_seq);
    for (size_t i = 0; i < count; i++) {
        n = tk_text(out, tk_text(out, tk_text(out, n, cap, ",\""), cap, fields[i].key), cap,
                    "\":");
        n = tk_text_uint(out, n, cap, fields[i].value);
    }
    return n;
}
