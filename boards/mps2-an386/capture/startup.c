/* Startup of tinykit's firmware for QEMU mps2-an386 (Cortex-M4F), shared by the capture
 * and the harness firmware and by every board whose port has no startup.c of its own
 * (any Cortex-M: Armv6-M, v7-M, v8-M): vector table, reset handler (copy .data, zero
 * .bss, enable the FPU when there is one, call main) and a fault handler. A fault, or
 * any exception the firmware has no handler for, prints one line on UART0 and stops
 * the board:
 *
 *   FAULT HardFault pc=0x000003a8 lr=0x00000415 cfsr=0x00008200 hfsr=0x40000000 bfar=0xdead0000
 *
 * pc is where it happened, cfsr/hfsr say why (bus error, undefined instruction, ...),
 * bfar/mmfar which address was at fault when cfsr marks them valid. Armv6-M (Cortex-M0)
 * has no fault status registers: its line stops after lr.
 * tinykit.deploy.emulated stops reading at that line and raises DeviceError. */
#include <stdint.h>

#include "uart.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);

#define SCB_CFSR  (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR  (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR  (*(volatile uint32_t *)0xE000ED38u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void NMI_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Fault_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Fault_Handler")));

__attribute__((section(".vectors"), used))
void (*const vector_table[16])(void) = {
    (void (*)(void))(&_estack),
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    0, 0,
    PendSV_Handler,
    SysTick_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; ) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)                /* a core with an FPU (M4F, M7): switch it on */
    SCB_CPACR |= (0xFu << 20);    /* full access to CP10 and CP11, the FPU */
    __asm__ volatile("dsb\n\tisb");
#endif
    main();
    for (;;) {
        __asm__ volatile("wfi");
    }
}

static void put_hex(const char *name, uint32_t v)
{
    uart_putc(' ');
    uart_puts(name);
    uart_puts("=0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        uart_putc((uint8_t)"0123456789abcdef"[(v >> shift) & 0xFu]);
    }
}

/* Fault_Handler's second half: frame is the stacked r0-r3, r12, lr, pc, xPSR. */
__attribute__((used, noreturn)) void fault_report(const uint32_t *frame)
{
    static const char *const names[16] = {
        0, "Reset", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault", 0,
        0, 0, 0, "SVC", "DebugMon", 0, "PendSV", "SysTick",
    };
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1FFu;
    uart_start_tx();
    uart_puts("\r\nFAULT ");
    if (ipsr < 16 && names[ipsr]) {
        uart_puts(names[ipsr]);
    } else {
        uart_puts("Exception");
        put_hex("n", ipsr);
    }
    put_hex("pc", frame[6]);
    put_hex("lr", frame[5]);
#if !defined(__ARM_ARCH_6M__) && !defined(__ARM_ARCH_8M_BASE__)
    put_hex("cfsr", SCB_CFSR);
    put_hex("hfsr", SCB_HFSR);
    put_hex("mmfar", SCB_MMFAR);
    put_hex("bfar", SCB_BFAR);
#endif
    uart_puts("\r\n");
    for (;;) {
        __asm__ volatile("wfi");
    }
}

/* Every exception without a handler of its own: find the stacked frame (main or
 * process stack, bit 2 of EXC_RETURN) and report. Thumb-1 instructions only, for the
 * Cortex-M0 too (bl: fault_report may be out of reach of a Thumb-1 b; it never
 * returns, and reads lr from the stacked frame). */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile(
        "movs r0, #4\n\t"
        "mov r1, lr\n\t"
        "tst r0, r1\n\t"
        "beq 1f\n\t"
        "mrs r0, psp\n\t"
        "bl fault_report\n\t"
        "1: mrs r0, msp\n\t"
        "bl fault_report\n\t");
}
