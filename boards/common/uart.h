/* The board's UART0. Each board's port (its uart.c) drives the hardware: uart_init,
 * uart_start_tx, uart_putc, uart_getc; boards/common/tk_uart_text.c writes text with
 * uart_putc: uart_write, uart_puts, uart_put_int, uart_put_row, uart_put_u64,
 * uart_put_count. */
#ifndef CAPTURE_UART_H
#define CAPTURE_UART_H
#include <stddef.h>
#include <stdint.h>

void uart_init(uint32_t baud);
/* Enables the transmitter if uart_init has not run yet (the fault report). */
void uart_start_tx(void);
void uart_putc(uint8_t c);
void uart_write(const void *data, size_t n);
void uart_puts(const char *s);
/* A decimal integer, with '-' when negative. */
void uart_put_int(int32_t v);
/* A line "<tag> <index>: <v0> <v1> ..." of n int8 values (outputs, features). */
void uart_put_row(const char *tag, uint32_t index, const int8_t *values, int32_t n);
/* A decimal unsigned 64-bit integer. */
void uart_put_u64(uint64_t v);
/* A line "<tag> <index>: <v>" (instruction counts). */
void uart_put_count(const char *tag, uint32_t index, uint64_t v);
/* The byte UART0 has received, or -1 when none is waiting (never blocks). The UART
 * holds one byte: poll at least once per byte time of the baud rate (QEMU holds
 * further input back until it is read, a real UART would drop it). */
int uart_getc(void);

#endif
