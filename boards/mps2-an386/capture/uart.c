/* CMSDK APB UART0 at 0x40004000: DATA +0, STATE +4 (bit0 TX full), CTRL +8
 * (bit0 TX enable, bit1 RX enable), BAUDDIV +0x10. Polled, no interrupts. */
#include "uart.h"

#define UART0_BASE 0x40004000u
#define UART_DATA    (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE   (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL    (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define STATE_TX_FULL 0x1u
#define CTRL_TX_EN    0x1u
#define CTRL_RX_EN    0x2u
#define SYSTEM_CLOCK  25000000u

void uart_init(uint32_t baud)
{
    uint32_t div = SYSTEM_CLOCK / baud;
    UART_BAUDDIV = div < 16 ? 16 : div;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

void uart_putc(uint8_t c)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = c;
}

void uart_write(const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n--) {
        uart_putc(*p++);
    }
}

void uart_puts(const char *s)
{
    while (*s) {
        uart_putc((uint8_t)*s++);
    }
}
