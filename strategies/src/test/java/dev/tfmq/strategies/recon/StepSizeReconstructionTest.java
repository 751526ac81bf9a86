package dev.tfmq.strategies.recon;

import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.calib.ActivationCalibration;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.ActivationSite;
import dev.tfmq.strategies.quant.BitWidths;
import dev.tfmq.strategies.quant.LayerPolicy;
import dev.tfmq.strategies.quant.QuantGrid;
import dev.tfmq.strategies.quant.TimestepContext;
import dev.tfmq.strategies.quant.UnknownTimestepPolicy;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.recipe.ProgressListener;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.*;

class StepSizeReconstructionTest {

    @Test
    void straightThroughStepGradientHasTheLsqValues() {
        ActivationSite s = new ActivationSite("x", ActivationSite.Kind.INPUT, false, 4);
        s.table().setShared(QuantGrid.perTensor(4, 0.1, 2));
        StepSizeQuantizer q = new StepSizeQuantizer(s);
        // codes: 0.26/0.1 → 3 (+2 = 5, inside); −0.5/0.1 → −5 (+2 < 0, clipped); 2.0/0.1 → 20 (+2 > 15, clipped)
        var x = Nd4j.createFromArray(0.26, -0.5, 2.0);
        var y = q.forward(x);
        assertArrayEquals(new double[] {0.3, -0.2, 1.3}, y.toDoubleVector(), 1e-12);
        var dx = q.backward(Nd4j.createFromArray(1.0, 10.0, 100.0));
        assertArrayEquals(new double[] {1.0, 0.0, 0.0}, dx.toDoubleVector(), 0.0, "STE passes only inside the range");
        // dΔ = 1·(3 − 2.6) + 10·(0 − 2) + 100·(15 − 2)
        assertEquals(0.4 - 20 + 1300, q.grad[0], 1e-9);
    }

    @Test
    void float32PathGivesTheSameValuesAndReusesItsBuffers() {
        ActivationSite s = new ActivationSite("x", ActivationSite.Kind.INPUT, false, 4);
        s.table().setShared(QuantGrid.perTensor(4, 0.1, 2));
        StepSizeQuantizer q = new StepSizeQuantizer(s);
        var x = Nd4j.createFromArray(0.26f, -0.5f, 2.0f, 0.04f).reshape(2, 2);
        var y = q.forward(x);
        assertArrayEquals(new float[] {0.3f, -0.2f, 1.3f, 0f}, y.dup().reshape(4).toFloatVector(), 1e-6f);
        var dx = q.backward(Nd4j.createFromArray(1f, 10f, 100f, 1000f).reshape(2, 2));
        assertArrayEquals(new float[] {1f, 0f, 0f, 1000f}, dx.dup().reshape(4).toFloatVector(), 0f);
        // dΔ = 1·(3 − 2.6) + 10·(0 − 2) + 100·(15 − 2) + 1000·(2 − 2 − 0.4)
        assertEquals(0.4 - 20 + 1300 - 400, q.grad[0], 1e-4);
        // a second iteration: new values in the same buffers, earlier gradients keep accumulating
        var y2 = q.forward(Nd4j.createFromArray(0.1f, 0.2f, 0.3f, 0.4f).reshape(2, 2));
        assertSame(y, y2, "the output buffer is reused");
        assertArrayEquals(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, y2.dup().reshape(4).toFloatVector(), 1e-6f);
        assertArrayEquals(new long[] {2, 2}, y2.shape());
        assertThrows(IllegalArgumentException.class, () -> q.backward(Nd4j.createFromArray(1f, 2f, 3f)));
        // a tensor large enough for the parallel chunks gives the same value everywhere
        var big = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 5, 80_000).subi(0.5f).muli(4f);
        float[] in = big.dup().reshape(400_000).toFloatVector();
        float[] out = q.forward(big).dup().reshape(400_000).toFloatVector();
        for (int i = 0; i < in.length; i++) {
            double code = Math.max(0, Math.min(15, Math.rint(in[i] / 0.1) + 2));
            assertEquals(Float.floatToIntBits((float) (0.1 * (code - 2))), Float.floatToIntBits(out[i]), "element " + i);
        }
    }

    @Test
    void learnedStepsLowerEveryUnitsLoss() {
        UNet2DModel m = TinyModels.random(13);
        CalibrationStore data = WeightReconstructionTest.data(m);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 8);
        wq.initializeAll(WeightInit.MSE);
        wq.applyAll();
        TimestepContext ctx = new TimestepContext();
        ActivationQuantization aq = new ActivationQuantization(m, LayerPolicy.defaults(), new BitWidths(8, 4, 8), ctx,
                UnknownTimestepPolicy.FAIL);
        aq.install();
        ActivationCalibration ac = new ActivationCalibration(m, aq);
        ac.singleGridTemporal(new long[] {750, 250, 0}, 1);
        ac.runningMinMax(data, false, 1);
        int[] idx = new int[data.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        // the spec's Adam step (4e-4): a larger one overshoots the softmax steps (Δ ≈ 1/255) within an iteration
        StepSizeReconstruction sr = new StepSizeReconstruction(m, aq, wq, 40, 4e-4, 8, 2, ProgressListener.NONE);
        sr.run(data, idx);
        assertTrue(sr.results().containsKey("mid_block.attentions.0"));
        assertEquals(6, sr.results().get("mid_block.attentions.0").quantizers(), "q/k/v input, q, k, v, softmax, out input");
        assertEquals(1, sr.results().get("down_blocks.0.resnets.0").quantizers(), "conv1 input of the first block stays FP");
        int better = 0;
        for (var e : sr.results().entrySet()) {
            System.out.printf("step-size %-28s %.5g -> %.5g%n", e.getKey(), e.getValue().before(), e.getValue().after());
            if (e.getValue().after() < e.getValue().before()) better++;
        }
        assertEquals(sr.results().size(), better, better + " of " + sr.results().size() + " units improved");
    }
}
