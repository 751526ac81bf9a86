package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.unet.AttentionBlock;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.quant.LayerPolicy;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The reconstruction graphs reproduce the runtime's blocks and give exact α gradients (float64 finite differences). */
class ReconstructionGradientTest {

    /** Runs the model and captures a module's input and output (and a second module's output). */
    static INDArray[] capture(UNet2DModel m, String path, String extraPath, INDArray x, long[] t) {
        INDArray[] got = new INDArray[3];
        m.module(path).setHook(new ModuleHook() {
            public void beforeForward(String p, INDArray in) { got[0] = in.dup(); }

            public void afterForward(String p, INDArray out) { got[1] = out.dup(); }
        });
        if (extraPath != null) {
            m.module(extraPath).setHook(new ModuleHook() {
                public void afterForward(String p, INDArray out) { got[2] = out.dup(); }
            });
        }
        m.forward(x, t, Nd4j.create(m.dtype(), x.shape()));
        m.module(path).setHook(null);
        if (extraPath != null) m.module(extraPath).setHook(null);
        return got;
    }

    @Test
    void graphsReproduceTheRuntimeBlocks() {
        UNet2DModel m = TinyModels.random64(6);
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 1, 16, 16);
        long[] t = {50, 800};
        for (String r : List.of("down_blocks.0.resnets.0", "mid_block.resnets.1", "up_blocks.0.resnets.1")) {
            INDArray[] c = capture(m, r, r + ".time_emb_proj", x, t);
            ResnetGraph g = new ResnetGraph(m, r, Map.of(), false, DataType.DOUBLE);
            INDArray y = g.forward(new INDArray[] {c[0], c[2]});
            assertEquals(0.0, y.sub(c[1]).amaxNumber().doubleValue(), 1e-10, r);
        }
        AttentionBlock a = m.midBlock().attentions().get(0);
        INDArray[] c = capture(m, a.path(), null, x, t);
        INDArray y = new AttentionGraph(m, a, Map.of(), DataType.DOUBLE).forward(new INDArray[] {c[0]});
        assertEquals(0.0, y.sub(c[1]).amaxNumber().doubleValue(), 1e-10, a.path());
        TemporalInformationBlock fp = new TemporalInformationBlock(m);
        INDArray proj = Nd4j.createFromArray(m.timeEmbedding().projection(new long[] {123}));
        INDArray feats = new TibGraph(m, Map.of(), DataType.DOUBLE).forward(new INDArray[] {proj});
        double[] first = fp.features(123).get(fp.members().get(0));
        for (int i = 0; i < first.length; i++) assertEquals(first[i], feats.getDouble(0, i), 1e-10);
    }

    @Test
    void scaleShiftGraphsReproduceTheRuntimeBlocksAndGiveExactGradients() {
        UNet2DModel m = TinyModels.scaleShift64(8);
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 1, 16, 16);
        long[] t = {40, 900};
        for (String r : List.of("down_blocks.1.resnets.0", "mid_block.resnets.0", "up_blocks.1.resnets.1")) {
            INDArray[] c = capture(m, r, r + ".time_emb_proj", x, t);
            assertEquals(2 * c[1].size(1), c[2].size(1), "scale-shift: time_emb_proj gives scale and shift");
            INDArray y = new ResnetGraph(m, r, Map.of(), false, DataType.DOUBLE).forward(new INDArray[] {c[0], c[2]});
            assertEquals(0.0, y.sub(c[1]).amaxNumber().doubleValue(), 1e-10, r);
        }
        AttentionBlock a = m.midBlock().attentions().get(0);
        assertFalse(a.hasGroupNorm());
        INDArray[] ca = capture(m, a.path(), null, x, t);
        INDArray ya = new AttentionGraph(m, a, Map.of(), DataType.DOUBLE).forward(new INDArray[] {ca[0]});
        assertEquals(0.0, ya.sub(ca[1]).amaxNumber().doubleValue(), 1e-10, a.path());

        // α gradients through the scale-shift conditioning, with the time_emb_proj learned inside the block
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 3);
        wq.initializeAll(WeightInit.MSE);
        String r = "up_blocks.0.resnets.0";
        INDArray[] c = capture(m, r, null, x, t);
        INDArray act = Kernels.silu(m.computeTemporalFeatures(t).embedding().dup());
        ResnetGraph rg = new ResnetGraph(m, r, learned(wq, r + ".conv1", r + ".conv2", r + ".time_emb_proj"), true,
                DataType.DOUBLE);
        assertEquals(3, rg.learnables().size());
        checkAlpha(rg, new INDArray[] {c[0], act}, 21);
    }

    private static Map<String, WeightSlot> learned(WeightQuantization wq, String... paths) {
        Map<String, WeightSlot> s = new LinkedHashMap<>();
        for (String p : paths) s.put(p, WeightSlot.learned(new AdaRoundQuantizer(wq.get(p))));
        return s;
    }

    /** dL/dα of a graph against central differences on α. */
    private static void checkAlpha(BlockGraph g, INDArray[] in, long seed) {
        INDArray out0 = g.forward(in);
        Nd4j.getRandom().setSeed(seed);
        // a target close to the output keeps the loss small, so central differences stay precise
        INDArray y = Nd4j.randn(DataType.DOUBLE, out0.shape()).muli(0.01 * out0.std(true).getDouble(0)).addi(out0);
        for (AdaRoundQuantizer q : g.learnables()) q.zeroGrad();
        g.forward(in);
        g.backward(BlockReconstructor.lossGradient(g.forward(in), y));
        for (AdaRoundQuantizer q : g.learnables()) {
            double[] a = q.alpha();
            INDArray param = Nd4j.createFromArray(a.clone());
            INDArray analytic = Nd4j.createFromArray(q.grad().clone());
            GradCheck.check(q.path(), () -> {
                double[] cur = param.toDoubleVector();
                System.arraycopy(cur, 0, a, 0, a.length);
                return BlockReconstructor.loss(g.forward(in), y);
            }, param, analytic, 12, seed);
            System.arraycopy(param.toDoubleVector(), 0, a, 0, a.length);
        }
    }

    @Test
    void alphaGradientsThroughResnetAttentionAndTib() {
        UNet2DModel m = TinyModels.random64(7);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 3);
        wq.initializeAll(WeightInit.MSE);
        Nd4j.getRandom().setSeed(2);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 1, 16, 16);
        long[] t = {10, 600};
        String r = "up_blocks.0.resnets.0";
        INDArray[] c = capture(m, r, null, x, t);
        INDArray temb = m.computeTemporalFeatures(t).embedding().dup();
        INDArray act = Kernels.silu(temb);
        ResnetGraph rg = new ResnetGraph(m, r, learned(wq, r + ".conv1", r + ".conv2", r + ".time_emb_proj"), true, DataType.DOUBLE);
        assertEquals(3, rg.learnables().size());
        checkAlpha(rg, new INDArray[] {c[0], act}, 11);

        AttentionBlock a = m.upBlocks().get(0).attentions().get(1);
        INDArray[] ca = capture(m, a.path(), null, x, t);
        AttentionGraph ag = new AttentionGraph(m, a, learned(wq, a.toQ().path(), a.toK().path(), a.toV().path(), a.toOut().path()),
                DataType.DOUBLE);
        checkAlpha(ag, new INDArray[] {ca[0]}, 12);

        TibGraph tg = new TibGraph(m, learned(wq, "time_embedding.linear_2", "mid_block.resnets.0.time_emb_proj"), DataType.DOUBLE);
        INDArray proj = Nd4j.createFromArray(m.timeEmbedding().projection(new long[] {5, 700}));
        checkAlpha(tg, new INDArray[] {proj}, 13);

        LayerGraph lg = new LayerGraph(m.module("up_blocks.0.upsamplers.0.conv"),
                learned(wq, "up_blocks.0.upsamplers.0.conv").get("up_blocks.0.upsamplers.0.conv"), DataType.DOUBLE);
        INDArray[] cl = capture(m, "up_blocks.0.upsamplers.0.conv", null, x, t);
        checkAlpha(lg, new INDArray[] {cl[0]}, 14);
    }

    @Test
    void roundingRegulariserGradientAndSchedule() {
        UNet2DModel m = TinyModels.random64(8);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 4);
        wq.initializeAll(WeightInit.MINMAX);
        AdaRoundQuantizer q = new AdaRoundQuantizer(wq.get("mid_block.resnets.0.time_emb_proj"));
        // α starts where h(α) is the fractional part: the soft weight is the FP weight (Min-Max never clips)
        // except where the rounded zero point pushes a channel's extreme a fraction of a step past the last code
        var wqz = wq.get("mid_block.resnets.0.time_emb_proj");
        double[] fp = wqz.fpValues();
        double[] soft = q.softWeight(DataType.DOUBLE).reshape(fp.length).toDoubleVector();
        int per = fp.length / wqz.channels();
        int inside = 0;
        for (int i = 0; i < fp.length; i++) {
            double sc = wqz.grid().scale(i / per);
            int z = wqz.grid().zeroPoint(i / per);
            double qz = fp[i] / sc + z;
            double want = qz < 0 ? -z * sc : qz > 15 ? (15 - z) * sc : fp[i];
            if (qz >= 0 && qz <= 15) inside++;
            assertEquals(want, soft[i], 1e-12, "element " + i);
        }
        assertTrue(inside > fp.length * 0.9, inside + " of " + fp.length + " inside the grid");
        q.zeroGrad();
        q.regularizer(7.0, 0.01, true);
        // the regulariser is a sum of per-weight terms: check each sampled weight's term on its own, where
        // central differences are precise (the whole sum of 2048 terms would drown them in round-off)
        double[] a = q.alpha();
        double[] g = q.grad();
        java.util.Random rnd = new java.util.Random(3);
        double eps = 1e-6;
        for (int s = 0; s < 30; s++) {
            int i = rnd.nextInt(a.length);
            double v = a[i];
            a[i] = v + eps;
            double up = q.term(i, 7.0);
            a[i] = v - eps;
            double down = q.term(i, 7.0);
            a[i] = v;
            double fd = 0.01 * (up - down) / (2 * eps);
            assertEquals(fd, g[i], 1e-7 * Math.max(1, Math.abs(fd)) + 1e-6 * Math.abs(fd), "regulariser weight " + i);
        }
        RoundingSchedule s = new RoundingSchedule(100, 0.2, 20, 2);
        assertFalse(s.regularized(19));
        assertEquals(0.0, s.beta(19));
        assertTrue(s.regularized(20));
        assertEquals(20.0, s.beta(20), 1e-12);
        assertEquals(11.0, s.beta(60), 1e-12);
        assertEquals(2.0 + 18.0 / 80, s.beta(99), 1e-12);
    }
}
