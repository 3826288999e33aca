/* Training-time batch normalisation over the rows of a [rows, channels] matrix (NHWC flattened). */
#ifndef GRADCAM_BATCH_NORM_H
#define GRADCAM_BATCH_NORM_H

/* y = gamma * (x - mean) * inv_std + beta with the batch mean and (biased) variance.
 * Returns 0, or -1 when the accumulators could not be allocated. */
int batch_norm_train(const float *x, long rows, int channels, const float *gamma, const float *beta, float epsilon,
                     float *y, float *mean, float *variance, float *inv_std);

/* Gradients of the above given dy: dx, dgamma = sum(dy * xhat), dbeta = sum(dy). */
int batch_norm_gradient(const float *x, const float *dy, long rows, int channels, const float *mean,
                        const float *inv_std, const float *gamma, float *dx, float *dgamma, float *dbeta);

#endif
