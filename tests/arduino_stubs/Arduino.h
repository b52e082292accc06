// Host stand-in for a board core's Arduino.h (the mbed core's is the model): the real
// ArduinoCore-API classes (Print, Stream, HardwareSerial, String, ...; found with
// -I <shared>/ArduinoCore-API), plus what only a board has, declared here and defined
// in host_core.cpp: Serial (on the host: stdin/stdout), millis()/micros()/delay().
// Compile with -DARDUINO=10819 -DARDUINO_ARCH_MBED, as arduino-cli does for the board.
#ifndef TINYKIT_HOST_ARDUINO_H
#define TINYKIT_HOST_ARDUINO_H

#include "api/ArduinoAPI.h"

#ifdef __cplusplus
#include "api/HardwareSerial.h"
#include "api/RingBuffer.h"
#endif

#ifdef __cplusplus
#include <cmath>
using namespace arduino;
using std::fabs;

// Serial: the same declaration as the emulated board's stand-in core.
#include "../../boards/mps2-an386/tflm/board_serial.h"
#endif

#endif
