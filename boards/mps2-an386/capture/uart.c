/* UART0 of the board (a CMSDK APB UART: DATA, STATE bit0 TX full and bit1 RX full,
 * CTRL bit0 TX enable and bit1 RX enable, BAUDDIV), polled, no interrupts. Its address, register offsets
 * and the clock come from board.toml through the generated firmware_config.h. */
#include "uart.h"

#include "firmware_config.h"

#define UART_REG(offset) (*(volatile uint32_t *)(UART0_BASE + (offset)))
#define UART_DATA    UART_REG(UART0_DATA_OFFSET)
#define UART_STATE   UART_REG(UART0_STATE_OFFSET)
#define UART_CTRL    UART_REG(UART0_CTRL_OFFSET)
#define UART_BAUDDIV UART_REG(UART0_BAUDDIV_OFFSET)
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN    0x1u
#define CTRL_RX_EN    0x2u

void uart_init(uint32_t baud)
{
    uint32_t div = BOARD_CLOCK_HZ / baud;
    UART_BAUDDIV = div < 16 ? 16 : div;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

void uart_start_tx(void)
{
    if (!(UART_CTRL & CTRL_TX_EN)) {
        uart_init(115200);
    }
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

void uart_put_row(const char *tag, uint32_t index, const int8_t *values, int32_t n)
{
    uart_puts(tag);
    uart_putc(' ');
    uart_put_int((int32_t)index);
    uart_putc(':');
    for (int32_t i = 0; i < n; i++) {
        uart_putc(' ');
        uart_put_int(values[i]);
    }
    uart_puts("\r\n");
}

void uart_put_u64(uint64_t v)
{
    char buf[20];
    int i = sizeof buf;
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    uart_write(buf + i, sizeof buf - (size_t)i);
}

void uart_put_count(const char *tag, uint32_t index, uint64_t v)
{
    uart_puts(tag);
    uart_putc(' ');
    uart_put_int((int32_t)index);
    uart_puts(": ");
    uart_put_u64(v);
    uart_puts("\r\n");
}

void uart_put_int(int32_t v)
{
    char buf[12];
    int i = sizeof buf;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        buf[--i] = '-';
    }
    uart_write(buf + i, sizeof buf - (size_t)i);
}

int uart_getc(void)
{
    if (!(UART_STATE & STATE_RX_FULL)) {
        return -1;
    }
    return (int)(UART_DATA & 0xFFu);
}
