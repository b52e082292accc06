#include "frame.h"
#include "uart.h"

void frame_send(uint8_t type, uint32_t seq, const void *payload, uint16_t n, int32_t flip_bit)
{
    static uint8_t raw[FRAME_MAX_PAYLOAD + TK_FRAME_OVERHEAD];
    static uint8_t enc[TK_FRAME_ENCODED_MAX(FRAME_MAX_PAYLOAD)];
    size_t len = tk_frame_pack(type, seq, payload, n, raw);
    if (flip_bit >= 0) {
        raw[(flip_bit / 8) % len] ^= (uint8_t)(1u << (flip_bit % 8));
    }
    uart_write(enc, tk_frame_encode(raw, len, enc));
}
