/* Arduino.h of the tflm firmware: the real ArduinoCore-API classes (Print, Stream,
 * HardwareSerial, String ...; its folder is passed in as ARDUINO_API) and what the
 * emulated board supplies in place of a Nano 33 BLE's core: Serial on UART0, the clock
 * from timer 0 (tk_cycles). Defined in arduino_board.cpp. */
#ifndef TK_TFLM_ARDUINO_H
#define TK_TFLM_ARDUINO_H

#include "api/ArduinoAPI.h"

#ifdef __cplusplus
#include <math.h>

#include "api/HardwareSerial.h"
#include "api/RingBuffer.h"
using namespace arduino;

#include "board_serial.h"
#endif

#endif
