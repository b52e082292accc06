/* Text on the board's UART, on top of the port's uart_putc (boards/<board>/.../uart.c):
 * bytes, strings, decimal integers and rows of int8 values. Shared by every board. */
#include "uart.h"

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
