/* The IMU rows the tflm firmware replays (generated into tflm_imu.c by the caller):
 * tk_imu_rows holds tk_imu_row_count rows of aX,aY,aZ (g), gX,gY,gZ (degrees/s); main
 * runs loop() tk_imu_loops times. */
#ifndef TK_TFLM_IMU_H
#define TK_TFLM_IMU_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
extern const float tk_imu_rows[];
extern const int32_t tk_imu_row_count;
extern const int32_t tk_imu_loops;
#ifdef __cplusplus
}
#endif
#endif
