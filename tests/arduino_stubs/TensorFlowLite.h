// Host stand-in: the Arduino TFLM library header (nothing needed on the host).
