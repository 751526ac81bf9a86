package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.unet.AttentionBlock;
import dev.tfmq.model.unet.ResnetBlock2D;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.model.unet.UNetBlock;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.ActivationSite;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.quant.WeightQuantizer;
import dev.tfmq.strategies.recipe.ProgressListener;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Q-Diffusion's activation step-size reconstruction (spec §9.2), block by block in forward order: the activation
 * quantizers inside a unit learn their step Δ (Adam, lr 4e-4, 5000 iterations by default) so that the unit's output
 * with final quantized weights and quantized activations matches the FP output under an L_p loss, p = 2.4. Inputs
 * come from the quantized network (weights and the already-reconstructed activations quantized), targets from the
 * FP network. One set of parameters for all time-steps, as in Q-Diffusion; the TIB's activations are not part of
 * any unit and keep their calibrated grids.
 */
public final class StepSizeReconstruction {
    public static final double NORM = 2.4;

    /** Loss of one unit before and after learning the steps. */
    public record Result(double before, double after, int quantizers) {}

    private final UNet2DModel model;
    private final ActivationQuantization aq;
    private final WeightQuantization wq;
    private final int iterations;
    private final double lr;
    private final int batch;
    private final long seed;
    private final ProgressListener progress;
    private final Map<String, Result> results = new LinkedHashMap<>();

    public StepSizeReconstruction(UNet2DModel model, ActivationQuantization aq, WeightQuantization wq, int iterations,
                                  double lr, int batch, long seed, ProgressListener progress) {
        if (iterations < 1) throw new IllegalArgumentException("step-size reconstruction needs >= 1 iteration, got " + iterations);
        this.model = model;
        this.aq = aq;
        this.wq = wq;
        this.iterations = iterations;
        this.lr = lr;
        this.batch = batch;
        this.seed = seed;
        this.progress = progress;
    }

    public Map<String, Result> results() { return results; }

    public void run(CalibrationStore data, int[] idx) {
        Random rnd = new Random(seed);
        for (UNetBlock b : blocksInOrder()) {
            for (int j = 0; j < b.resnets().size(); j++) {
                resnet(b.resnets().get(j), data, idx, rnd);
                // the mid block is resnet, attention, resnet: its single attention follows the first resnet
                if (j < b.attentions().size()) attention(b.attentions().get(j), data, idx, rnd);
            }
            for (String p : List.of(b.path() + ".downsamplers.0.conv", b.path() + ".upsamplers.0.conv")) {
                if (model.modules().containsKey(p)) layer(p, data, idx, rnd);
            }
        }
    }

    private List<UNetBlock> blocksInOrder() {
        List<UNetBlock> l = new ArrayList<>(model.downBlocks());
        l.add(model.midBlock());
        l.addAll(model.upBlocks());
        return l;
    }

    private StepSizeQuantizer site(String key) {
        ActivationSite s = aq.sites().get(key);
        return s == null || s.temporal() ? null : new StepSizeQuantizer(s);
    }

    private Map<String, WeightSlot> fixedWeights() {
        Map<String, WeightSlot> m = new LinkedHashMap<>();
        for (WeightQuantizer q : wq.quantizers().values()) m.put(q.path(), WeightSlot.fixed(q.quantizedWeight(), model.dtype()));
        return m;
    }

    private void resnet(ResnetBlock2D r, CalibrationStore data, int[] idx, Random rnd) {
        String p = r.path();
        StepSizeQuantizer q1 = site(p + ".conv1");
        StepSizeQuantizer q2 = site(p + ".conv2");
        if (q1 == null && q2 == null) return;
        ResnetGraph g = new ResnetGraph(model, p, fixedWeights(), false, model.dtype());
        g.setActivationSteps(q1, q2);
        UnitCapture.Captured c = capture(p, p + ".time_emb_proj", data, idx);
        train(p, g, g.activationSteps(), List.of(c.input(), c.extra()), c.target(), rnd);
    }

    private void attention(AttentionBlock a, CalibrationStore data, int[] idx, Random rnd) {
        String p = a.path();
        AttentionGraph g = new AttentionGraph(model, a, fixedWeights(), model.dtype());
        g.setActivationSteps(site(p + ".qkv_in"), site(a.toQ().path() + ":out"), site(a.toK().path() + ":out"),
                site(a.toV().path() + ":out"), site(p + ".softmax"), site(a.toOut().path()));
        if (g.activationSteps().isEmpty()) return;
        UnitCapture.Captured c = capture(p, null, data, idx);
        train(p, g, g.activationSteps(), List.of(c.input()), c.target(), rnd);
    }

    private void layer(String path, CalibrationStore data, int[] idx, Random rnd) {
        StepSizeQuantizer s = site(path);
        if (s == null) return;
        Module m = model.module(path);
        WeightSlot w = wq.contains(path) ? WeightSlot.fixed(wq.get(path).quantizedWeight(), model.dtype())
                : WeightSlot.fixed(m.parameters().get(path + ".weight"), model.dtype());
        LayerGraph g = new LayerGraph(m, w, model.dtype());
        g.setActivationStep(s);
        UnitCapture.Captured c = capture(path, null, data, idx);
        train(path, g, g.activationSteps(), List.of(c.input()), c.target(), rnd);
    }

    private UnitCapture.Captured capture(String path, String extra, CalibrationStore data, int[] idx) {
        UnitCapture uc = new UnitCapture(model, batch, aq.context());
        try {
            return uc.capture(path, extra, false, data, idx, () -> {
                wq.restoreAll();
                aq.setEnabled(false);
            }, () -> {
                wq.applyAll();
                aq.setEnabled(true);
            });
        } finally {
            wq.applyAll();
            aq.setEnabled(true);
        }
    }

    private void train(String unit, BlockGraph g, List<StepSizeQuantizer> qs, List<INDArray> inputs, INDArray target, Random rnd) {
        progress.onProgress("activation-steps", unit);
        progress.onWork("activation-steps", unit, 0, iterations, "iterations");
        int n = (int) target.size(0);
        double before = evaluate(g, inputs, target);
        Adam[] adam = new Adam[qs.size()];
        for (int i = 0; i < qs.size(); i++) adam[i] = new Adam(1, lr);
        int bs = Math.min(batch, n);
        for (int k = 0; k < iterations; k++) {
            dev.tfmq.model.nn.OffHeapGuard.check();
            int[] idx = rnd.ints(0, n).distinct().limit(bs).toArray();
            for (StepSizeQuantizer q : qs) q.grad[0] = 0;
            INDArray out = g.forward(BlockReconstructor.gather(inputs, idx));
            g.backward(lpGradient(out, BlockReconstructor.rows(target, idx)));
            for (int i = 0; i < qs.size(); i++) {
                adam[i].step(qs.get(i).delta, qs.get(i).grad);
                qs.get(i).delta[0] = Math.max(qs.get(i).delta[0], 1e-8);
            }
            progress.onWork("activation-steps", unit, k + 1, iterations, "iterations");
        }
        double after = evaluate(g, inputs, target);
        for (StepSizeQuantizer q : qs) q.commit();
        results.put(unit, new Result(before, after, qs.size()));
    }

    /** L_p reconstruction loss, p = 2.4: Σ_features |ŷ − y|^p averaged over batch and the remaining axes. */
    static double lpLoss(INDArray out, INDArray y) {
        double per = out.length() / out.size(1);
        INDArray d = org.nd4j.linalg.ops.transforms.Transforms.abs(out.sub(y), false);
        return org.nd4j.linalg.ops.transforms.Transforms.pow(d, NORM, false).sumNumber().doubleValue() / per;
    }

    static INDArray lpGradient(INDArray out, INDArray y) {
        double per = out.length() / out.size(1);
        INDArray d = out.sub(y);
        INDArray mag = org.nd4j.linalg.ops.transforms.Transforms.pow(org.nd4j.linalg.ops.transforms.Transforms.abs(d, true), NORM - 1, false);
        return org.nd4j.linalg.ops.transforms.Transforms.sign(d, false).muli(mag).muli(NORM / per);
    }

    private double evaluate(BlockGraph g, List<INDArray> inputs, INDArray target) {
        int n = (int) target.size(0);
        double sum = 0;
        for (int s = 0; s < n; s += batch) {
            int[] idx = new int[Math.min(batch, n - s)];
            for (int i = 0; i < idx.length; i++) idx[i] = s + i;
            sum += lpLoss(g.forward(BlockReconstructor.gather(inputs, idx)), BlockReconstructor.rows(target, idx)) * idx.length;
        }
        return sum / n;
    }
}
