/* A ring of int16 samples between a sensor's interrupt (the one writer) and the app's
 * loop (the one reader), as a microphone sketch needs it: the writer never waits; a
 * reader that falls behind drops the audio waiting and is told how many hops it lost.
 * Part of tinykit; used by the generated keyword sketches (one per microphone board,
 * which differ in how their driver hands over samples, not in this). */
#ifndef TK_SAMPLE_RING_H
#define TK_SAMPLE_RING_H

#include <stdint.h>

#include "tk_kernels.h" /* tk_status */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    volatile int16_t *data;  /* [size] */
    uint32_t size;           /* a power of two */
    volatile uint32_t head;  /* samples written since init (wraps around 2^32) */
    uint32_t tail;           /* samples read since init */
} tk_sample_ring;

/* TK_ERROR_ARGUMENT: no data, or a size that is not a power of two >= 2. */
tk_status tk_sample_ring_init(tk_sample_ring *ring, volatile int16_t *data, uint32_t size);

/* The writer (an interrupt): appends count samples, overwriting the oldest unread ones
 * when the reader is more than size samples behind. */
void tk_sample_ring_write(tk_sample_ring *ring, const int16_t *samples, uint32_t count);

/* The reader: copies the next `count` samples into out and returns 1 when they have all
 * arrived, else returns 0. When the writer has come within `count` samples of unread
 * ones (they may be overwritten while being copied), it first drops every whole block
 * of `count` waiting, adds their number to *lost and returns 0. A count of 0 or more
 * than size reads nothing. */
int32_t tk_sample_ring_read(tk_sample_ring *ring, int16_t *out, uint32_t count,
                            uint32_t *lost);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_SAMPLE_RING_H */
