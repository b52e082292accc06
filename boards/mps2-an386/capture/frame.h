/* Sending tinykit's binary frames (../../common/tk_frame.h) on UART0. */
#ifndef CAPTURE_FRAME_H
#define CAPTURE_FRAME_H
#include <stdint.h>

#include "tk_frame.h"

#define FRAME_MAX_PAYLOAD 1024

/* Sends one frame; flip_bit >= 0 flips that bit of the packed frame after the CRC
 * is computed (injected corruption for tests). */
void frame_send(uint8_t type, uint32_t seq, const void *payload, uint16_t n, int32_t flip_bit);

#endif
