/* tk_cycles: the board's timer 0 as a 64-bit tick count (see tk_cycles.h): a CMSDK APB
 * timer (the MPS2 images, counting down), or with TK_TIMER0_KIND_STM32 a 32-bit STM32
 * general-purpose timer (TIM2 or TIM5 of an STM32F4, counting up; RM0090 section 18),
 * or with TK_TIMER0_KIND_NRF51 the nRF51's TIMER0 in 32-bit mode (counting up; its
 * 2^32 wrap only: TK_CYCLES_RELOAD must stay 0xFFFFFFFF). */
#include "firmware_config.h"   /* first: TK_ICOUNT_SHIFT decides what tk_cycles.h declares */
#include "tk_cycles.h"

#ifndef TK_TIMER0_BASE
#define TK_TIMER0_BASE 0x40000000u   /* CMSDK APB timer 0 of the MPS2 images */
#endif
#ifndef TK_CYCLES_RELOAD
#define TK_CYCLES_RELOAD 0xFFFFFFFFu
#endif

#ifndef TK_TIMER0_HZ
#define TK_TIMER0_HZ BOARD_CLOCK_HZ   /* the timer's clock (board.toml [timer0] clock_hz) */
#endif
#define TIMER_REG(offset) (*(volatile uint32_t *)(TK_TIMER0_BASE + (offset)))

static uint32_t last;     /* the count down from RELOAD at the previous reading */
static uint64_t total;    /* ticks up to that reading */

#ifdef TK_TIMER0_KIND_STM32
/* TIMx_CR1 bit 0 CEN, TIMx_EGR bit 0 UG (load PSC, clear CNT), CNT, PSC, ARR. An up
 * counter, read as RELOAD - CNT so that the code below counts down like the CMSDK's. */
#define TIMER_CR1 TIMER_REG(0x00u)
#define TIMER_EGR TIMER_REG(0x14u)
#define TIMER_CNT TIMER_REG(0x24u)
#define TIMER_PSC TIMER_REG(0x28u)
#define TIMER_ARR TIMER_REG(0x2Cu)
#ifndef TK_TIMER0_PRESCALER
#define TK_TIMER0_PRESCALER 1u
#endif

static void timer_start(void)
{
    TIMER_CR1 = 0u;
    TIMER_PSC = TK_TIMER0_PRESCALER - 1u;  /* a tick every TK_TIMER0_PRESCALER clocks */
    TIMER_ARR = TK_CYCLES_RELOAD;
    TIMER_CNT = 0u;
    TIMER_EGR = 1u;
    TIMER_CR1 = 1u;
}

static uint32_t timer_down(void)
{
    return TK_CYCLES_RELOAD - TIMER_CNT;
}
#elif defined(TK_TIMER0_KIND_NRF51)
/* nRF51 TIMER0 (nRF51 Series Reference Manual v3.0, chapter 18): tasks START, STOP,
 * CLEAR, CAPTURE[0]; MODE (0: timer), BITMODE (3: 32 bits), PRESCALER (16 MHz / 2^n),
 * CC[0] (where CAPTURE[0] puts the count). An up counter wrapping at 2^32. */
#define TIMER_START     TIMER_REG(0x000u)
#define TIMER_STOP      TIMER_REG(0x004u)
#define TIMER_CLEAR     TIMER_REG(0x00Cu)
#define TIMER_CAPTURE0  TIMER_REG(0x040u)
#define TIMER_MODE      TIMER_REG(0x504u)
#define TIMER_BITMODE   TIMER_REG(0x508u)
#define TIMER_PRESCALER TIMER_REG(0x510u)
#define TIMER_CC0       TIMER_REG(0x540u)

static void timer_start(void)
{
    TIMER_STOP = 1u;
    TIMER_MODE = 0u;
    TIMER_BITMODE = 3u;
    TIMER_PRESCALER = 0u;            /* 16 MHz */
    TIMER_CLEAR = 1u;
    TIMER_START = 1u;
}

static uint32_t timer_down(void)
{
    TIMER_CAPTURE0 = 1u;
    return 0xFFFFFFFFu - TIMER_CC0;
}
#else
#define TIMER_CTRL   TIMER_REG(0x00u)  /* bit 0: enable */
#define TIMER_VALUE  TIMER_REG(0x04u)  /* counts down */
#define TIMER_RELOAD TIMER_REG(0x08u)

static void timer_start(void)
{
    TIMER_CTRL = 0u;
    TIMER_RELOAD = TK_CYCLES_RELOAD;
    TIMER_VALUE = TK_CYCLES_RELOAD;
    TIMER_CTRL = 1u;
}

static uint32_t timer_down(void)
{
    return TIMER_VALUE;
}
#endif

void tk_cycles_init(void)
{
    total = 0u;
    last = TK_CYCLES_RELOAD;
    timer_start();
}

uint64_t tk_cycles_now(void)
{
    const uint32_t now = timer_down();
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
    /* ticks * (ns per tick) / (ns per instruction), rounded to the nearest: a tick is
     * 10^9 / TK_TIMER0_HZ ns, an instruction 2^TK_ICOUNT_SHIFT ns. (ticks below 2^34:
     * no overflow.) */
    const uint64_t per_instruction = (uint64_t)(TK_TIMER0_HZ) << TK_ICOUNT_SHIFT;
    return (ticks * 1000000000u + per_instruction / 2u) / per_instruction;
}

uint64_t tk_cycles_measured(uint64_t ticks, uint64_t overhead)
{
    return tk_cycles_instructions(ticks) - tk_cycles_instructions(overhead);
}
#endif
