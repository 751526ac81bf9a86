package dev.tfmq.strategies.recon;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A weight inside a reconstruction graph: either fixed (a full-precision layer, or a quantized layer that is
 * already final — e.g. a TIB layer frozen by TIAR) or learned through its {@link AdaRoundQuantizer}.
 */
final class WeightSlot {
    private final INDArray fixed;
    private final AdaRoundQuantizer learned;
    private INDArray current;

    private WeightSlot(INDArray fixed, AdaRoundQuantizer learned) {
        this.fixed = fixed;
        this.learned = learned;
    }

    static WeightSlot fixed(INDArray w, DataType type) { return new WeightSlot(w.castTo(type).dup('c'), null); }

    static WeightSlot learned(AdaRoundQuantizer q) { return new WeightSlot(null, q); }

    AdaRoundQuantizer learner() { return learned; }

    /** The weight for this forward pass (the soft-rounded one is rebuilt from the current α). */
    INDArray weight(DataType type) {
        current = learned == null ? fixed : learned.softWeight(type);
        return current;
    }

    INDArray current() { return current; }

    void backward(INDArray dW) {
        if (learned != null) learned.accumulate(dW);
    }
}
