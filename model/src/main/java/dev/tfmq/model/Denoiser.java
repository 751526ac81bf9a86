package dev.tfmq.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A network that predicts from a noisy sample at given time-steps (noise, v or x0, per the scheduler's
 * prediction type). Implementations write into {@code out} so that sampling loops allocate nothing per step.
 */
public interface Denoiser {
    /**
     * @param sample    [B, C, H, W] float32 noisy images
     * @param timesteps one integer time-step per batch element (length B)
     * @param out       [B, C_out, H, W] float32 destination, fully overwritten
     */
    void predict(INDArray sample, long[] timesteps, INDArray out);
}
