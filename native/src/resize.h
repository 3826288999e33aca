/* Step 4 of every CAM in one kernel: maps upsampled bilinearly and scaled to peak 1. */
#ifndef GRADCAM_RESIZE_H
#define GRADCAM_RESIZE_H

#include <node_api.h>

/* out[r] = up(maps[r]) / max(peak, epsilon), or all zeros when the peak is at most epsilon, for R
 * maps [h, w] -> [H, W]. up is bilinear with half-pixel centres, computed as TensorFlow's
 * ResizeBilinear (horizontal lerps first, then the vertical one). Returns 0, or -1 when out of memory. */
int upsample_normalise(const float *maps, int R, int h, int w, int H, int W, float epsilon, float *out);

napi_value upsample_normalise_binding(napi_env env, napi_callback_info info);

#endif
