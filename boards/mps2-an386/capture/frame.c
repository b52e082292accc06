#include "frame.h"
#include "uart.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
        }
        crc_table[i] = c;
    }
}

uint32_t crc32(const uint8_t *data, size_t n)
{
    if (crc_table[1] == 0) {
        crc_init();
    }
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c = crc_table[(c ^ *data++) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

size_t cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
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

static void put_u16(uint8_t *p, uint16_t v) { p[0] = v & 0xFF; p[1] = v >> 8; }
static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = v & 0xFF; p[1] = (v >> 8) & 0xFF; p[2] = (v >> 16) & 0xFF; p[3] = v >> 24;
}

void frame_send(uint8_t type, uint32_t seq, const void *payload, uint16_t n, int32_t flip_bit)
{
    static uint8_t raw[8 + FRAME_MAX_PAYLOAD + 4];
    static uint8_t enc[sizeof raw + sizeof raw / 254 + 2];
    const uint8_t *p = payload;
    raw[0] = type;
    raw[1] = FRAME_VERSION;
    put_u16(raw + 2, n);
    put_u32(raw + 4, seq);
    for (uint16_t i = 0; i < n; i++) {
        raw[8 + i] = p[i];
    }
    put_u32(raw + 8 + n, crc32(raw, 8u + n));
    size_t len = 8u + n + 4u;
    if (flip_bit >= 0) {
        raw[(flip_bit / 8) % len] ^= (uint8_t)(1u << (flip_bit % 8));
    }
    size_t m = cobs_encode(raw, len, enc);
    enc[m++] = 0;
    uart_write(enc, m);
}
