/* Wire.h of the tflm firmware: the emulated board has no I2C sensor; the sensor
 * library only keeps a reference to the bus (its readings come from
 * arduino_board.cpp). */
#ifndef TK_TFLM_WIRE_H
#define TK_TFLM_WIRE_H
#include "Arduino.h"

class TwoWire {};
extern TwoWire Wire;

#endif
