/* tk_cycles: CMSDK APB timer 0 as a 64-bit tick count (see tk_cycles.h). */
#include "firmware_config.h"   /* first: TK_ICOUNT_SHIFT decides what tk_cycles.h declares */
#include "tk_cycles.h"

#ifndef TK_TIMER0_BASE
#define TK_TIMER0_BASE 0x40000000u   /* CMSDK APB timer 0 of the MPS2 images */
#endif
#ifndef TK_CYCLES_RELOAD
#define TK_CYCLES_RELOAD 0xFFFFFFFFu
#endif

#define TIMER_CTRL   (*(volatile uint32_t *)(TK_TIMER0_BASE + 0x00u))  /* bit 0: enable */
#define TIMER_VALUE  (*(volatile uint32_t *)(TK_TIMER0_BASE + 0x04u))  /* counts down */
#define TIMER_RELOAD (*(volatile uint32_t *)(TK_TIMER0_BASE + 0x08u))

static uint32_t last;     /* the timer's value at the previous reading */
static uint64_t total;    /* ticks up to that reading */

void tk_cycles_init(void)
{
    TIMER_CTRL = 0u;
    TIMER_RELOAD = TK_CYCLES_RELOAD;
    TIMER_VALUE = TK_CYCLES_RELOAD;
    total = 0u;
    last = TK_CYCLES_RELOAD;
    TIMER_CTRL = 1u;
}

uint64_t tk_cycles_now(void)
{
    const uint32_t now = TIMER_VALUE;
    /* Down-counting from RELOAD to 0, then RELOAD again: a period is RELOAD + 1 ticks. */
    const uint64_t elapsed = now <= last
        ? (uint64_t)(last - now)
        : (uint64_t)last + ((uint64_t)TK_CYCLES_RELOAD + 1u) - now;
    last = now;
    total += elapsed;
    return total;
}

uint64_t tk_cycles_overhead(void)
{
    const uint64_t t0 = tk_cycles_now();
    const uint64_t t1 = tk_cycles_now();
    return t1 - t0;
}

uint64_t tk_cycles_since(uint64_t t0, uint64_t overhead)
{
    const uint64_t ticks = tk_cycles_now() - t0;
#ifdef TK_ICOUNT_SHIFT
    return tk_cycles_measured(ticks, overhead);
#else
    return ticks > overhead ? ticks - overhead : 0u;
#endif
}

#ifdef TK_ICOUNT_SHIFT
uint64_t tk_cycles_instructions(uint64_t ticks)
{
    /* ticks * (ns per tick) / (ns per instruction), rounded to the nearest. */
    const uint64_t ns_per_tick = 1000000000u / (BOARD_CLOCK_HZ);
    return (ticks * ns_per_tick + ((uint64_t)1 << (TK_ICOUNT_SHIFT - 1))) >> TK_ICOUNT_SHIFT;
}

uint64_t tk_cycles_measured(uint64_t ticks, uint64_t overhead)
{
    return tk_cycles_instructions(ticks) - tk_cycles_instructions(overhead);
}
#endif
