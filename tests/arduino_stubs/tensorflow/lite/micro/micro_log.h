// Host stand-in for TFLM logging (unused by the sketches).
