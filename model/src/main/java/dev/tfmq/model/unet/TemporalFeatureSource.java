package dev.tfmq.model.unet;

/**
 * Where a forward pass gets its temporal features. The default runs the model's own Temporal Information Block;
 * cache-based maintenance installs a source that copies pre-computed (quantized) features instead.
 */
@FunctionalInterface
public interface TemporalFeatureSource {
    /** Fills every buffer of {@code out} for {@code out.timesteps()}. */
    void fill(UNet2DModel model, TemporalFeatures out);
}
