package dev.tfmq.strategies.quant;

import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class LayerQuantizationTest {

    @Test
    void defaultPolicyFollowsTheSpecsFirstAndLastLayerRules() {
        LayerPolicy p = LayerPolicy.defaults();
        assertFalse(p.quantizes("time_embedding.linear_1"));
        assertTrue(p.quantizes("time_embedding.linear_2"));
        assertFalse(p.quantizesInput("time_embedding.linear_2"));
        assertFalse(p.quantizes("conv_in"));
        assertFalse(p.quantizes("conv_out"));
        assertFalse(p.quantizes("up_blocks.0.resnets.1.conv_shortcut"));
        assertFalse(p.quantizes("down_blocks.0.downsamplers.0.conv"));
        assertTrue(p.quantizes("down_blocks.0.resnets.0.conv1"));
        assertFalse(p.quantizesInput("down_blocks.0.resnets.0.conv1"));
        assertTrue(p.quantizesInput("down_blocks.0.resnets.0.conv2"));
        assertTrue(p.quantizesInput("up_blocks.0.upsamplers.0.conv"));
        assertTrue(p.quantizesInput("mid_block.attentions.0.to_q"));
    }

    @Test
    void weightQuantizerInstallsTheGridValuesAndRestoresFp() {
        UNet2DModel m = TinyModels.random(1);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 4);
        assertFalse(wq.contains("conv_in"));
        assertTrue(wq.contains("mid_block.resnets.0.time_emb_proj"));
        WeightQuantizer q = wq.get("mid_block.resnets.0.time_emb_proj");
        Linear l = (Linear) m.module("mid_block.resnets.0.time_emb_proj");
        double[] fp = l.weight().dup().reshape(l.weight().length()).toDoubleVector();
        q.initialize(4, WeightInit.MINMAX);
        q.apply();
        double[] w = l.weight().reshape(l.weight().length()).toDoubleVector();
        int per = (int) l.inFeatures();
        int[] codes = q.codes();
        for (int i = 0; i < w.length; i++) {
            int c = i / per;
            assertTrue(codes[i] >= 0 && codes[i] <= 15);
            assertEquals((float) (q.grid().scale(c) * (codes[i] - q.grid().zeroPoint(c))), w[i], 0.0);
            // Min-Max grids never clip, so rounding error is at most half a step
            assertTrue(Math.abs(w[i] - fp[i]) <= q.grid().scale(c) / 2 + 1e-7, "weight " + i);
        }
        q.restore();
        assertArrayEquals(fp, l.weight().reshape(l.weight().length()).toDoubleVector(), 0.0);
    }

    @Test
    void activationSitesShareBuffersReadByManyLayers() {
        UNet2DModel m = TinyModels.random(1);
        ActivationQuantization aq = new ActivationQuantization(m, LayerPolicy.defaults(), BitWidths.W8A8,
                new TimestepContext(), UnknownTimestepPolicy.FAIL);
        var sites = aq.sites();
        assertTrue(sites.get(ActivationQuantization.TIME_ACT).temporal());
        assertFalse(sites.containsKey("mid_block.resnets.0.time_emb_proj"));
        assertFalse(sites.containsKey("time_embedding.linear_2"), "linear_2 input stays FP (§5.3)");
        assertEquals(ActivationSite.Kind.INPUT, sites.get("mid_block.attentions.0.qkv_in").kind());
        assertFalse(sites.containsKey("mid_block.attentions.0.to_k"));
        assertEquals(ActivationSite.Kind.OUTPUT, sites.get("mid_block.attentions.0.to_k:out").kind());
        assertTrue(sites.get("mid_block.attentions.0.softmax").unsigned());
        assertFalse(sites.containsKey("down_blocks.0.resnets.0.conv1"));
        assertTrue(sites.containsKey("down_blocks.0.resnets.0.conv2"));
        assertTrue(sites.containsKey("up_blocks.0.upsamplers.0.conv"));
    }

    @Test
    void inPlaceUnsafeLayersCannotGetInputQuantizers() {
        UNet2DModel m = TinyModels.random(1);
        LayerPolicy p = new LayerPolicy(List.of("conv_out"), List.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                new ActivationQuantization(m, p, BitWidths.W8A8, new TimestepContext(), UnknownTimestepPolicy.FAIL));
        assertTrue(e.getMessage().contains("'conv_in'"), e.getMessage());
    }

    @Test
    void perStepTablesFollowTheContextAndFailClearlyOnUnknownSteps() {
        UNet2DModel m = TinyModels.random(1);
        TimestepContext ctx = new TimestepContext();
        ActivationQuantization aq = new ActivationQuantization(m, LayerPolicy.defaults(), BitWidths.W8A8, ctx,
                UnknownTimestepPolicy.FAIL);
        ActivationSite s = aq.site(ActivationQuantization.TIME_ACT);
        s.table().setStep(10, UniformAffineQuantizer.minMax(-1, 1, 4));
        s.table().setStep(500, UniformAffineQuantizer.minMax(-4, 4, 4));
        INDArray x = Nd4j.createFromArray(0.3f, -0.7f);
        IllegalStateException noCtx = assertThrows(IllegalStateException.class, () -> aq.quantize(s, x.dup()));
        assertTrue(noCtx.getMessage().contains("no time-step is set"), noCtx.getMessage());
        ctx.set(10);
        INDArray a = x.dup();
        aq.quantize(s, a);
        double d = 2.0 / 15;
        assertEquals(d * Math.rint(0.3f / d), a.getDouble(0), 1e-6);
        ctx.set(500);
        INDArray b = x.dup();
        aq.quantize(s, b);
        assertEquals(8.0 / 15 * Math.rint(0.3f / (8.0 / 15)), b.getDouble(0), 1e-6);
        ctx.set(250);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> aq.quantize(s, x.dup()));
        assertTrue(e.getMessage().contains("time-step 250") && e.getMessage().contains("[10, 500]"), e.getMessage());
        ActivationQuantization nearest = new ActivationQuantization(m, LayerPolicy.defaults(), BitWidths.W8A8, ctx,
                UnknownTimestepPolicy.NEAREST);
        ActivationSite s2 = nearest.site(ActivationQuantization.TIME_ACT);
        s2.table().setStep(10, UniformAffineQuantizer.minMax(-1, 1, 4));
        s2.table().setStep(500, UniformAffineQuantizer.minMax(-4, 4, 4));
        ctx.set(400);
        INDArray c = x.dup();
        nearest.quantize(s2, c);
        assertEquals(b.getDouble(0), c.getDouble(0), 0.0, "400 is nearer to 500");
    }
}
