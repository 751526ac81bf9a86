package dev.tfmq.strategies.quant;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.unet.UNet2DModel;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The weight quantizers of every quantized conv/linear layer of a model, in registration order. */
public final class WeightQuantization {
    private final Map<String, WeightQuantizer> quantizers = new LinkedHashMap<>();
    private final int bits;

    public WeightQuantization(UNet2DModel model, LayerPolicy policy, int bits) {
        UniformAffineQuantizer.checkBits(bits, "weight quantization");
        this.bits = bits;
        for (Module m : model.modules().values()) {
            if ((m.kind() == ModuleKind.CONV || m.kind() == ModuleKind.LINEAR) && policy.quantizes(m.path())) {
                quantizers.put(m.path(), new WeightQuantizer(m));
            }
        }
    }

    public int bits() { return bits; }

    public Map<String, WeightQuantizer> quantizers() { return Collections.unmodifiableMap(quantizers); }

    public WeightQuantizer get(String path) {
        WeightQuantizer q = quantizers.get(path);
        if (q == null) throw new IllegalArgumentException("layer '" + path + "' is not weight-quantized");
        return q;
    }

    public boolean contains(String path) { return quantizers.containsKey(path); }

    public void initializeAll(WeightInit init) {
        for (WeightQuantizer q : quantizers.values()) q.initialize(bits, init);
    }

    public void applyAll() {
        for (WeightQuantizer q : quantizers.values()) q.apply();
    }

    public void restoreAll() {
        for (WeightQuantizer q : quantizers.values()) q.restore();
    }
}
