package dev.tfmq.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Observation and intervention point on a layer. Hooks run on the live buffers: a hook may read them (activation
 * statistics, disturbance monitoring) or change them in place (fake quantization, feature replacement).
 */
public interface ModuleHook {
    /** Called with the layer's input before the layer runs. */
    default void beforeForward(String path, INDArray input) {}

    /** Called with the layer's output after the layer ran. */
    default void afterForward(String path, INDArray output) {}
}
