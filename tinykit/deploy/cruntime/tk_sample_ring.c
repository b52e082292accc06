/* tinykit's sample ring (see tk_sample_ring.h). */
#include "tk_sample_ring.h"

#include <stddef.h>

tk_status tk_sample_ring_init(tk_sample_ring *ring, volatile int16_t *data, uint32_t size)
{
    if (!ring || !data || size < 2u || (size & (size - 1u))) {
        return TK_ERROR_ARGUMENT;
    }
    ring->data = data;
    ring->size = size;
    ring->head = 0;
    ring->tail = 0;
    return TK_OK;
}

void tk_sample_ring_write(tk_sample_ring *ring, const int16_t *samples, uint32_t count)
{
    uint32_t head = ring->head;
    for (uint32_t i = 0; i < count; i++) {
        ring->data[head++ & (ring->size - 1u)] = samples[i];
    }
    ring->head = head;          /* after the samples: the reader sees whole writes */
}

int32_t tk_sample_ring_read(tk_sample_ring *ring, int16_t *out, uint32_t count,
                            uint32_t *lost)
{
    const uint32_t waiting = ring->head - ring->tail;
    if (count == 0u || count > ring->size) {
        return 0;
    }
    if (waiting > ring->size - count) {
        const uint32_t dropped = waiting / count;
        ring->tail += dropped * count;
        if (lost) {
            *lost += dropped;
        }
        return 0;
    }
    if (waiting < count) {
        return 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        out[i] = ring->data[(ring->tail + i) & (ring->size - 1u)];
    }
    ring->tail += count;
    return 1;
}
