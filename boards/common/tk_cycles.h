/* tk_cycles: a 64-bit count of timer ticks, and of instructions on the emulated board.
 *
 * Uses CMSDK APB timer 0 of the Arm MPS2 FPGA images (AN385/AN386/AN500 and QEMU's
 * mps2-an38x: base 0x40000000, clocked at the board's clock, BOARD_CLOCK_HZ), or the
 * STM32 timer board.toml's [timer0] names (kind = "stm32": TIM2 of the netduinoplus2,
 * clocked at its clock_hz), or the nRF51's TIMER0 (kind = "nrf51": the microbit). The timer
 * is 32 bits and free-running; tk_cycles_now() extends it to 64 bits, so call it at least
 * once per 2^32 ticks (171 s at 25 MHz; 1.3e9 instructions under QEMU -icount shift=7).
 *
 *   tk_cycles_init();
 *   uint64_t t0 = tk_cycles_now();
 *   work();
 *   uint64_t n = tk_cycles_instructions(tk_cycles_now() - t0);
 *
 * Under QEMU's -icount shift=N every instruction takes 2^N ns of virtual time and the
 * timer ticks every 10^9 / TK_TIMER0_HZ ns, so a number of ticks is a number of
 * instructions: tk_cycles_instructions() converts (exactly when a tick is shorter than
 * half an instruction, e.g. 40 ns ticks and shift=7: 3.2 ticks per instruction). The
 * count includes the instructions of one tk_cycles_now() call; tk_cycles_overhead()
 * measures them, to subtract.
 *
 * Settings (firmware_config.h, written by tinykit.deploy.emulated.build):
 *   BOARD_CLOCK_HZ    the board's clock (board.toml clock_hz)
 *   TK_TIMER0_BASE, TK_TIMER0_HZ, TK_TIMER0_KIND_STM32, TK_TIMER0_PRESCALER
 *                     the timer (board.toml [timer0] base, clock_hz / prescaler, kind,
 *                     prescaler; default: the CMSDK timer at 0x40000000, counting at
 *                     BOARD_CLOCK_HZ)
 *   TK_ICOUNT_SHIFT   QEMU's -icount shift (board.toml [run] icount); without it
 *                     tk_cycles_instructions() is not available
 *   TK_CYCLES_RELOAD  the timer's reload value (default 0xFFFFFFFF: all 32 bits; tests
 *                     use a small one to check the wrap handling)
 */
#ifndef TK_CYCLES_H
#define TK_CYCLES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the timer from its reload value; the count restarts at 0. */
void tk_cycles_init(void);

/* Ticks since tk_cycles_init(), 64 bits (see above for how often to call it). */
uint64_t tk_cycles_now(void);

/* The ticks two back-to-back tk_cycles_now() calls are apart: what to subtract from a
 * measurement to count only the code between the calls. */
uint64_t tk_cycles_overhead(void);

/* What the code since the reading t0 = tk_cycles_now() took, less the readings' own
 * `overhead`: instructions when TK_ICOUNT_SHIFT is set (QEMU -icount), else ticks. */
uint64_t tk_cycles_since(uint64_t t0, uint64_t overhead);

#ifdef TK_ICOUNT_SHIFT
/* Instructions executed in `ticks` under QEMU -icount shift=TK_ICOUNT_SHIFT. */
uint64_t tk_cycles_instructions(uint64_t ticks);

/* Instructions of the code between two tk_cycles_now() readings `ticks` apart, less
 * those of the readings themselves (`overhead`, from tk_cycles_overhead()). */
uint64_t tk_cycles_measured(uint64_t ticks, uint64_t overhead);
#endif

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* TK_CYCLES_H */
