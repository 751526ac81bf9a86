package dev.tfmq.strategies.quant;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Calibration-time behaviour of activation sites: a collector sees the live activation of the sites it collects
 * (and may quantize it with its running estimate, as the released code does while it calibrates).
 */
public interface ActivationCollector {
    boolean collects(ActivationSite site);

    /** Observes {@code x} at {@code site}; may modify {@code x} in place. */
    void observe(ActivationSite site, INDArray x, TimestepContext context);
}
