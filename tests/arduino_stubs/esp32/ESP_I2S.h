// Host stand-in for ESP_I2S.h of the ESP32 Arduino core 3.0.7
// (libraries/ESP_I2S/src/ESP_I2S.h; the core is not in ../shared/arduino): the part of
// its API the keyword sketch of the XIAO ESP32S3 Sense uses, declared as that header
// declares it, with the ESP-IDF 5.1 types it takes (driver/i2s_types.h). What the
// header declares beyond this (TX, TDM, WAV/MP3, ...) is left out; a sketch calling it
// fails to compile here, as would one calling what the real header lacks.
// Defined in ../mic_esp_i2s.cpp.
#ifndef TINYKIT_HOST_ESP_I2S_H
#define TINYKIT_HOST_ESP_I2S_H

#include "Arduino.h"

// ESP-IDF's driver/i2s_types.h.
typedef enum {
  I2S_DATA_BIT_WIDTH_8BIT = 8,
  I2S_DATA_BIT_WIDTH_16BIT = 16,
  I2S_DATA_BIT_WIDTH_24BIT = 24,
  I2S_DATA_BIT_WIDTH_32BIT = 32,
} i2s_data_bit_width_t;

typedef enum {
  I2S_SLOT_MODE_MONO = 1,
  I2S_SLOT_MODE_STEREO = 2,
} i2s_slot_mode_t;

// ESP_I2S.h (on the ESP32-S3, SOC_I2S_SUPPORTS_TDM, _PDM_TX and _PDM_RX are all set).
typedef enum {
  I2S_MODE_STD,
  I2S_MODE_TDM,
  I2S_MODE_PDM_TX,
  I2S_MODE_PDM_RX,
  I2S_MODE_MAX
} i2s_mode_t;

class I2SClass : public Stream {
 public:
  I2SClass();
  ~I2SClass();

  void setPinsPdmRx(int8_t clk, int8_t din0, int8_t din1 = -1, int8_t din2 = -1,
                    int8_t din3 = -1);
  bool begin(i2s_mode_t mode, uint32_t rate, i2s_data_bit_width_t bits_cfg, i2s_slot_mode_t ch,
             int8_t slot_mask = -1);
  bool end();

  size_t readBytes(char *buffer, size_t size);
  uint32_t rxSampleRate();

  int available();
  int peek();
  int read();
  size_t write(uint8_t d);

 private:
  int8_t _rx_clk = -1, _rx_din0 = -1;
  uint32_t rx_sample_rate = 0;
  i2s_data_bit_width_t rx_data_bit_width = I2S_DATA_BIT_WIDTH_16BIT;
  i2s_slot_mode_t rx_slot_mode = I2S_SLOT_MODE_MONO;
  bool rx_started = false;
};

#endif
