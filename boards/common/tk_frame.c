/* tinykit's binary frames (see tk_frame.h). */
#include "tk_frame.h"

uint32_t tk_crc32(const uint8_t *data, size_t n)
{
    static uint32_t table[256];     /* filled on first use; table[1] is never 0 */
    if (table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
            }
            table[i] = c;
        }
    }
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c = table[(c ^ *data++) & 0xFFu] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

size_t tk_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != 0) {
            out[o++] = in[i];
            code++;
        }
        if (in[i] == 0 || code == 0xFF) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        }
    }
    out[code_at] = code;
    return o;
}

uint8_t *tk_put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        *p++ = (uint8_t)(v >> (8 * i));
    }
    return p;
}

uint64_t tk_get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

size_t tk_frame_pack(uint8_t type, uint32_t seq, const void *payload, uint16_t n, uint8_t *raw)
{
    const uint8_t *p = (const uint8_t *)payload;
    raw[0] = type;
    raw[1] = TK_FRAME_VERSION;
    tk_put_le(raw + 2, n, 2);
    tk_put_le(raw + 4, seq, 4);
    for (uint16_t i = 0; i < n; i++) {
        raw[8 + i] = p[i];
    }
    tk_put_le(raw + 8 + n, tk_crc32(raw, 8u + n), 4);
    return TK_FRAME_OVERHEAD + n;
}

size_t tk_frame_encode(const uint8_t *raw, size_t len, uint8_t *out)
{
    size_t m = tk_cobs_encode(raw, len, out);
    out[m++] = 0;
    return m;
}

size_t tk_frame_build(uint8_t type, uint32_t seq, const void *payload, uint16_t n,
                      uint8_t *raw, uint8_t *out)
{
    return tk_frame_encode(raw, tk_frame_pack(type, seq, payload, n, raw), out);
}
