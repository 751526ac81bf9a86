package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.unet.AttentionBlock;
import dev.tfmq.model.unet.ResnetBlock2D;
import dev.tfmq.model.unet.TimeEmbedding;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.model.unet.UNetBlock;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.quant.WeightQuantizer;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationRecipe.TibReconstruction;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * BRECQ-style weight reconstruction over the whole UNet (spec §2.3), with the TIB handled per the recipe:
 * <ul>
 *   <li>TIAR: the TIB is reconstructed first as one unit on its temporal-feature loss, then frozen; every
 *       ResBlock receives the quantized TIB's feature as a fixed input;</li>
 *   <li>BLOCK (Q-Diffusion): linear_2 is a standalone layer unit and each time_emb_proj is learned inside its
 *       ResBlock from the cached SiLU(temb);</li>
 *   <li>FREEZE: TIB weights re-initialised by Min-Max, rounded to nearest and frozen.</li>
 * </ul>
 * Units in forward order: ResBlocks and attention blocks, standalone quantized layers (resampler convs). For each
 * unit the inputs come from the partially quantized network ("asym": reconstructed units quantized, the rest FP,
 * activations FP) and the targets from the FP network, both captured with module hooks over the weight-calibration
 * samples.
 */
public final class WeightReconstruction {
    private final UNet2DModel model;
    private final TemporalInformationBlock fpTib;
    private final WeightQuantization wq;
    private final ReconstructionSettings settings;
    private final ProgressListener progress;
    private final Set<String> done = new HashSet<>();
    private final Map<String, BlockReconstructor.Result> results = new LinkedHashMap<>();
    private final DataType type;

    public WeightReconstruction(UNet2DModel model, TemporalInformationBlock fpTib, WeightQuantization wq,
                                ReconstructionSettings settings, ProgressListener progress) {
        this.model = model;
        this.fpTib = fpTib;
        this.wq = wq;
        this.settings = settings;
        this.progress = progress;
        this.type = model.dtype();
    }

    /** Per unit: loss with round-to-nearest and with the learned rounding, in the order reconstructed. */
    public Map<String, BlockReconstructor.Result> results() { return results; }

    public void run(CalibrationStore data, int[] idx) {
        if (idx.length == 0) throw new IllegalArgumentException("no weight-calibration samples for reconstruction");
        Random rnd = new Random(settings.seed());
        BlockReconstructor trainer = new BlockReconstructor(settings);
        List<String> tibLayers = new ArrayList<>();
        for (Module m : model.temporalModules()) if (wq.contains(m.path())) tibLayers.add(m.path());
        boolean learnedEmb = settings.tib() == TibReconstruction.BLOCK;
        try {
            switch (settings.tib()) {
                case TIAR -> {
                    if (!tibLayers.isEmpty()) {
                        progress.onProgress("tiar", tibLayers.size() + " TIB layers");
                        Map<String, WeightSlot> slots = slots(tibLayers);
                        TibGraph g = new TibGraph(model, slots, DataType.DOUBLE);
                        List<INDArray> in = new ArrayList<>();
                        INDArray[] io = tibData(data, idx);
                        in.add(io[0]);
                        results.put("TIB", trainer.train(g, in, io[1], rnd, progress, "tiar", "TIB"));
                    }
                    done.addAll(tibLayers);
                }
                case FREEZE -> {
                    for (String p : tibLayers) wq.get(p).initialize(wq.bits(), WeightInit.MINMAX);
                    done.addAll(tibLayers);
                }
                case BLOCK -> {
                    if (wq.contains("time_embedding.linear_2")) unitLayer("time_embedding.linear_2", data, idx, trainer, rnd);
                }
            }
            if (!settings.blocks()) return;
            unitLayer("conv_in", data, idx, trainer, rnd);
            for (UNetBlock b : model.downBlocks()) {
                for (int j = 0; j < b.resnets().size(); j++) {
                    unitResnet(b.resnets().get(j), learnedEmb, data, idx, trainer, rnd);
                    if (!b.attentions().isEmpty()) unitAttention(b.attentions().get(j), data, idx, trainer, rnd);
                }
                unitLayer(b.path() + ".downsamplers.0.conv", data, idx, trainer, rnd);
            }
            UNetBlock mid = model.midBlock();
            unitResnet(mid.resnets().get(0), learnedEmb, data, idx, trainer, rnd);
            if (!mid.attentions().isEmpty()) unitAttention(mid.attentions().get(0), data, idx, trainer, rnd);
            unitResnet(mid.resnets().get(1), learnedEmb, data, idx, trainer, rnd);
            for (UNetBlock b : model.upBlocks()) {
                for (int j = 0; j < b.resnets().size(); j++) {
                    unitResnet(b.resnets().get(j), learnedEmb, data, idx, trainer, rnd);
                    if (!b.attentions().isEmpty()) unitAttention(b.attentions().get(j), data, idx, trainer, rnd);
                }
                unitLayer(b.path() + ".upsamplers.0.conv", data, idx, trainer, rnd);
            }
            unitLayer("conv_out", data, idx, trainer, rnd);
        } finally {
            wq.restoreAll();
        }
    }

    private Map<String, WeightSlot> slots(List<String> layers) {
        Map<String, WeightSlot> s = new LinkedHashMap<>();
        for (String p : layers) {
            if (done.contains(p)) {
                WeightQuantizer q = wq.get(p);
                s.put(p, WeightSlot.fixed(q.quantizedWeight(), type));
            } else {
                s.put(p, WeightSlot.learned(new AdaRoundQuantizer(wq.get(p))));
            }
        }
        return s;
    }

    /** Sinusoidal projections and FP temporal features of the calibration samples' time-steps (TIAR data). */
    private INDArray[] tibData(CalibrationStore data, int[] idx) {
        TimeEmbedding te = model.timeEmbedding();
        int total = fpTib.totalDim();
        INDArray x = Nd4j.create(DataType.DOUBLE, idx.length, te.projectionDim());
        INDArray y = Nd4j.create(DataType.DOUBLE, idx.length, total);
        Map<Long, double[]> cache = new java.util.HashMap<>();
        for (int i = 0; i < idx.length; i++) {
            long t = data.timestep(idx[i]);
            x.getRow(i).assign(Nd4j.createFromArray(te.projection(new long[] {t})[0]));
            double[] f = cache.computeIfAbsent(t, k -> {
                double[] all = new double[total];
                int off = 0;
                for (double[] v : fpTib.features(k).values()) {
                    System.arraycopy(v, 0, all, off, v.length);
                    off += v.length;
                }
                return all;
            });
            y.getRow(i).assign(Nd4j.createFromArray(f));
        }
        return new INDArray[] {x, y};
    }

    private List<String> learnable(List<String> paths) {
        List<String> out = new ArrayList<>();
        for (String p : paths) if (wq.contains(p) && !done.contains(p)) out.add(p);
        return out;
    }

    private void unitLayer(String path, CalibrationStore data, int[] idx, BlockReconstructor trainer, Random rnd) {
        if (!model.modules().containsKey(path)) return;
        List<String> l = learnable(List.of(path));
        if (l.isEmpty()) return;
        progress.onProgress("blocks", path);
        Module m = model.module(path);
        UnitCapture.Captured c = capture(path, false, false, data, idx);
        LayerGraph g = new LayerGraph(m, slots(l).get(path), type);
        results.put(path, trainer.train(g, List.of(c.input()), c.target(), rnd, progress, "blocks", path));
        done.addAll(l);
    }

    private void unitResnet(ResnetBlock2D r, boolean learnedEmb, CalibrationStore data, int[] idx, BlockReconstructor trainer, Random rnd) {
        String p = r.path();
        List<String> members = new ArrayList<>(List.of(p + ".conv1", p + ".conv2", p + ".conv_shortcut"));
        if (learnedEmb) members.add(p + ".time_emb_proj");
        List<String> l = learnable(members);
        if (l.isEmpty()) return;
        progress.onProgress("blocks", p);
        UnitCapture.Captured c = capture(p, true, learnedEmb, data, idx);
        ResnetGraph g = new ResnetGraph(model, p, slots(l), learnedEmb, type);
        results.put(p, trainer.train(g, List.of(c.input(), c.extra()), c.target(), rnd, progress, "blocks", p));
        done.addAll(l);
    }

    private void unitAttention(AttentionBlock a, CalibrationStore data, int[] idx, BlockReconstructor trainer, Random rnd) {
        List<String> l = learnable(List.of(a.toQ().path(), a.toK().path(), a.toV().path(), a.toOut().path()));
        if (l.isEmpty()) return;
        progress.onProgress("blocks", a.path());
        UnitCapture.Captured c = capture(a.path(), false, false, data, idx);
        AttentionGraph g = new AttentionGraph(model, a, slots(l), type);
        results.put(a.path(), trainer.train(g, List.of(c.input()), c.target(), rnd, progress, "blocks", a.path()));
        done.addAll(l);
    }

    /**
     * The unit's FP output (all weights FP) and its input from the partially quantized network (reconstructed units
     * quantized, the rest FP, activations FP) and, for a ResBlock, the temporal input: the time_emb_proj output when
     * the emb layer is frozen, its input SiLU(temb) when it is learned.
     */
    private UnitCapture.Captured capture(String path, boolean resnet, boolean learnedEmb, CalibrationStore data, int[] idx) {
        UnitCapture uc = new UnitCapture(model, settings.batchSize(), null);
        try {
            return uc.capture(path, resnet ? path + ".time_emb_proj" : null, learnedEmb, data, idx, wq::restoreAll, () -> {
                for (WeightQuantizer q : wq.quantizers().values()) {
                    if (done.contains(q.path())) q.apply();
                    else q.restore();
                }
            });
        } finally {
            wq.restoreAll();
        }
    }
}
