/* UART0 of the Netduino Plus 2: USART1 of its STM32F405 (RM0090 section 30), polled, no
 * interrupts. Its address and register offsets (SR, DR, BRR, CR1) and the clock its
 * baud rate divider is computed from come from board.toml through firmware_config.h.
 *
 * The port also switches on, in RCC, the clocks of what tinykit's firmware uses (GPIOA,
 * USART1, TIM2 for boards/common/tk_cycles.c) and puts PA9 (TX) and PA10 (RX) on
 * alternate function 7, USART1 (STM32F405 datasheet DS8626, table 9). QEMU's
 * netduinoplus2 models RCC and GPIO as stubs that ignore these writes; the board needs
 * them. */
#include "uart.h"

#include "firmware_config.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* RCC (RM0090 7.3): peripheral clock enable registers. */
#define RCC_BASE     0x40023800u
#define RCC_AHB1ENR  REG(RCC_BASE + 0x30u)
#define RCC_APB1ENR  REG(RCC_BASE + 0x40u)
#define RCC_APB2ENR  REG(RCC_BASE + 0x44u)
#define AHB1_GPIOA   (1u << 0)
#define APB1_TIM2    (1u << 0)
#define APB2_USART1  (1u << 4)

/* GPIOA (RM0090 8.4): mode (2 bits a pin, 0b10 alternate function) and AFRH (4 bits
 * a pin for pins 8-15). */
#define GPIOA_BASE   0x40020000u
#define GPIOA_MODER  REG(GPIOA_BASE + 0x00u)
#define GPIOA_AFRH   REG(GPIOA_BASE + 0x24u)
#define PIN_TX 9u
#define PIN_RX 10u
#define AF_USART1 7u

#define USART_SR  REG(UART0_BASE + UART0_SR_OFFSET)
#define USART_DR  REG(UART0_BASE + UART0_DR_OFFSET)
#define USART_BRR REG(UART0_BASE + UART0_BRR_OFFSET)
#define USART_CR1 REG(UART0_BASE + UART0_CR1_OFFSET)
#define SR_RXNE (1u << 5)
#define SR_TXE  (1u << 7)
#define CR1_RE  (1u << 2)
#define CR1_TE  (1u << 3)
#define CR1_UE  (1u << 13)

void uart_init(uint32_t baud)
{
    RCC_AHB1ENR |= AHB1_GPIOA;
    RCC_APB1ENR |= APB1_TIM2;
    RCC_APB2ENR |= APB2_USART1;
    (void)RCC_APB2ENR;                    /* the clocks are on before the first access */
    GPIOA_MODER = (GPIOA_MODER & ~((3u << 2 * PIN_TX) | (3u << 2 * PIN_RX)))
                  | (2u << 2 * PIN_TX) | (2u << 2 * PIN_RX);
    GPIOA_AFRH = (GPIOA_AFRH & ~((0xFu << 4 * (PIN_TX - 8)) | (0xFu << 4 * (PIN_RX - 8))))
                 | (AF_USART1 << 4 * (PIN_TX - 8)) | (AF_USART1 << 4 * (PIN_RX - 8));
    /* 16x oversampling: BRR = clock / baud, mantissa and 4-bit fraction (RM0090 30.3.4),
     * rounded to the nearest. */
    USART_BRR = (BOARD_CLOCK_HZ + baud / 2u) / baud;
    USART_CR1 = CR1_UE | CR1_TE | CR1_RE;
}

void uart_start_tx(void)
{
    if ((USART_CR1 & (CR1_UE | CR1_TE)) != (CR1_UE | CR1_TE)) {
        uart_init(115200);
    }
}

void uart_putc(uint8_t c)
{
    while (!(USART_SR & SR_TXE)) {
    }
    USART_DR = c;
}

int uart_getc(void)
{
    if (!(USART_SR & SR_RXNE)) {
        return -1;
    }
    return (int)(USART_DR & 0xFFu);
}
