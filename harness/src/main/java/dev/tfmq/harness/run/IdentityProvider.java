package dev.tfmq.harness.run;

import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.model.unet.UNet2DModel;

import java.io.IOException;
import java.util.Map;

/**
 * Recipe {@code none}: no quantization (W32A32). The "quantized" side is a second, independent full-precision
 * instance — the control run of the harness: every disturbance must be zero and the FP-vs-quantized FID must be 0.
 */
public final class IdentityProvider implements QuantizedSideProvider {
    @Override
    public boolean handles(String recipe) {
        return recipe.equals("none");
    }

    @Override
    public void check(String recipeName, com.typesafe.config.Config recipe, int weightBits, int activationBits) {
        if (weightBits != 32 || activationBits != 32) {
            throw new IllegalArgumentException("recipe \"none\" means no quantization: set tfmq.quantization.weight-bits = 32 and "
                    + "activation-bits = 32 (got W" + weightBits + "A" + activationBits + ")");
        }
    }

    @Override
    public Prepared prepare(Request r) throws IOException {
        check(r.recipeName(), r.recipe(), r.weightBits(), r.activationBits());
        if (r.modelDir() == null) throw new IllegalArgumentException("recipe \"none\" needs a model folder");
        UNet2DModel.load(r.modelDir());
        return new Prepared(() -> {
            try {
                return new UNetSide("quantized", UNet2DModel.load(r.modelDir()));
            } catch (IOException e) {
                throw new IllegalStateException("cannot load " + r.modelDir() + ": " + e.getMessage(), e);
            }
        }, true, Map.of("recipe", "none (full precision copy)"));
    }
}
