// Host stand-in for a board core's Arduino.h (the mbed core's is the model): the real
// ArduinoCore-API classes (Print, Stream, HardwareSerial, String, ...; found with
// -I <shared>/ArduinoCore-API), plus what only a board has, declared here and defined
// in host_core.cpp: Serial (on the host: stdin/stdout), millis()/micros()/delay(), and
// the LED pins of the Nano 33 BLE variant (pins_arduino.h; digitalWrite logs them).
// Compile with -DARDUINO=10819 -DARDUINO_ARCH_MBED, as arduino-cli does for the board.
#ifndef TINYKIT_HOST_ARDUINO_H
#define TINYKIT_HOST_ARDUINO_H

#include "api/ArduinoAPI.h"

#ifdef __cplusplus
#include "api/HardwareSerial.h"
#include "api/RingBuffer.h"
#endif

// The Nano 33 BLE (Sense) variant's LEDs: LED_BUILTIN (orange, lit HIGH) and the RGB
// LED (each colour lit LOW), pin numbers as in the mbed core's pins_arduino.h.
#define LED_BUILTIN (13u)
#define LEDR (22u)
#define LEDG (23u)
#define LEDB (24u)

#ifdef __cplusplus
#include <cmath>
using namespace arduino;
using std::fabs;

// Serial: the same declaration as the emulated board's stand-in core.
#include "../../boards/mps2-an386/tflm/board_serial.h"
#endif

#endif
