# What every firmware with the real TensorFlow Lite Micro + CMSIS-NN of the Arduino
# library Chirale_TensorFlowLite shares (tflm: a generated sketch; tflm_infer: a model
# on compiled-in inputs). The firmware's Makefile sets NAME and APP_CXX (its own C++
# sources), then includes this file.
#
# GEN holds tflm.mk (written by tinykit.deploy.tflm), which sets the make variables
# (they may be given on the command line too):
#
#   TFLM_SRC      the library's src/ folder (Chirale_TensorFlowLite/src)
#   TFLM_SOURCES  the library's .cpp/.c files to compile (all under TFLM_SRC)
#   TFLM_LIB      where the compiled library goes (default $(BUILD)/libtflm.a); point
#                 it at a cache folder to compile TFLM once: it is rebuilt only when
#                 missing, so name it after the sources and flags
#   ARDUINO_API   ArduinoCore-API's folder (api/ArduinoAPI.h: Print, Stream, ...)
#   SENSOR_INC    the IMU library's src/ folder (Arduino_LSM9DS1/src), for sketches
#
# Arduino.h and Wire.h here put Serial on UART0 (arduino_board.cpp; TFLM's DebugLog
# prints through it); the firmware's main runs the C++ constructors (cxx.ld).
CORE    := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
$(if $(GEN),,$(error GEN is not set: see $(CORE)/../firmware.mk))
-include $(GEN)/tflm.mk
$(foreach v,TFLM_SRC TFLM_SOURCES ARDUINO_API,$(if $($(v)),,$(error $(v) is not set: see $(CORE)/arduino.mk)))
TFLM_LIB ?= $(BUILD)/libtflm.a

OBJ     := $(BUILD)/obj
API_CXX := $(addprefix $(ARDUINO_API)/api/,Print.cpp Stream.cpp String.cpp Common.cpp)
APP_CXX += $(CORE)/arduino_board.cpp $(API_CXX)
APP_OBJS := $(patsubst %,$(OBJ)/app/%.o,$(notdir $(APP_CXX)))
SRCS    := $(APP_OBJS)
include $(CORE)/../firmware.mk

CXX     := $(CROSS)g++
AR      := $(CROSS)ar
# What arduino-cli defines for the Nano 33 BLE (the framework macros the library tests).
ARDUINO_DEFS := -DARDUINO=10819 -DARDUINO_ARCH_MBED -DARDUINO_ARDUINO_NANO33BLE
CXXFLAGS := $(CPU) -O2 -g -std=gnu++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics \
            -ffunction-sections -fdata-sections $(ARDUINO_DEFS)
INCS    := -I$(CORE) -I$(ARDUINO_API) $(if $(SENSOR_INC),-I$(SENSOR_INC)) -I$(TFLM_SRC)
LDFLAGS += $(TFLM_LIB) -lstdc++ -lsupc++ -Wl,-T,$(CORE)/cxx.ld

$(ELF): $(TFLM_LIB) $(CORE)/cxx.ld

# `make -f .../<firmware>/Makefile library ...`: only the library (a cold TFLM_LIB,
# ahead of the firmware build, with -j2 and a long deadline).
.PHONY: library
library: $(TFLM_LIB)

APP_HDRS := $(HDRS) $(wildcard $(CORE)/*.h $(HERE)/*.h)
vpath %.ino $(GEN)
vpath %.cc $(GEN)
vpath %.cpp $(HERE) $(CORE) $(ARDUINO_API)/api
$(OBJ)/app/%.ino.o: %.ino $(APP_HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -Wall $(INCS) -I$(GEN) -I$(PORT) -I$(SHARED) -x c++ -include Arduino.h -c $< -o $@
$(OBJ)/app/%.cc.o: %.cc $(HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -Wall $(INCS) -I$(GEN) -c $< -o $@
$(OBJ)/app/%.cpp.o: %.cpp $(APP_HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -Wall $(INCS) -I$(HERE) -I$(GEN) -I$(PORT) -I$(SHARED) -c $< -o $@

# The library: compiled once into TFLM_LIB (warnings are the library's, not shown).
TFLM_OBJDIR := $(TFLM_LIB).obj
TFLM_OBJS := $(patsubst $(TFLM_SRC)/%,$(TFLM_OBJDIR)/%.o,$(TFLM_SOURCES))
$(TFLM_OBJDIR)/%.cpp.o: $(TFLM_SRC)/%.cpp
	@mkdir -p $(dir $@)
	@$(CXX) $(CXXFLAGS) -w $(INCS) -c $< -o $@
$(TFLM_OBJDIR)/%.c.o: $(TFLM_SRC)/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CPU) -O2 -std=gnu11 -ffunction-sections -fdata-sections -w $(INCS) -c $< -o $@
$(TFLM_LIB): $(if $(wildcard $(TFLM_LIB)),,$(TFLM_OBJS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@.tmp$$$$ $(TFLM_OBJS) && mv -f $@.tmp$$$$ $@
