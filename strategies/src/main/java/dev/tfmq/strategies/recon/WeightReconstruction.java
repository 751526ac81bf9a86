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
                        results.put("TIB", trainer.train(g, UnitKind.TIB, tibMacs(), in, io[1], rnd, progress, "tiar", "TIB"));
                    }
                    done.addAll(tibLayers);
                }
                case FREEZE -> {
                    for (String p : tibLayers) wq.get(p).initialize(wq.bits(), WeightInit.MINMAX);
                    done.addAll(tibLayers);
                }
                case BLOCK -> {
                    if (wq.contains("time_embedding.linear_2")) {
                        progress.onProgress("blocks", "time_embedding.linear_2");
                        unitLayer("time_embedding.linear_2", data, idx, trainer, rnd, progress);
                    }
                }
            }
            if (!settings.blocks()) return;
            List<Planned> plan = blockPlan(learnedEmb);
            if (plan.isEmpty()) return;
            long total = (long) plan.size() * settings.iterations();
            String item = plan.size() + " units";
            progress.onProgress("blocks", plan.size() + " units x " + settings.iterations() + " iterations, in forward order");
            // one counted task for the whole phase, so that its rate and ETA cover every unit still to come
            for (int u = 0; u < plan.size(); u++) {
                long base = (long) u * settings.iterations();
                ProgressListener phase = new ProgressListener() {
                    @Override
                    public void onProgress(String ph, String detail) { progress.onProgress(ph, detail); }

                    @Override
                    public void onWork(String ph, String it, long d, long t, String unit) {
                        progress.onWork(ph, item, base + d, total, unit);
                    }
                };
                Planned pu = plan.get(u);
                switch (pu.kind()) {
                    case LAYER -> unitLayer(pu.path(), data, idx, trainer, rnd, phase);
                    case RESNET -> unitResnet((ResnetBlock2D) model.module(pu.path()), learnedEmb, data, idx, trainer, rnd, phase);
                    case ATTENTION -> unitAttention((AttentionBlock) model.module(pu.path()), data, idx, trainer, rnd, phase);
                    case TIB -> throw new IllegalStateException("the TIB is not a block unit");
                }
            }
        } finally {
            wq.restoreAll();
        }
    }

    /** A block-phase unit: what it is and where. */
    private record Planned(UnitKind kind, String path) {}

    /** The block units with something left to learn, in forward order (down, mid, up). */
    private List<Planned> blockPlan(boolean learnedEmb) {
        List<Planned> plan = new ArrayList<>();
        planLayer(plan, "conv_in");
        for (UNetBlock b : model.downBlocks()) {
            for (int j = 0; j < b.resnets().size(); j++) {
                planResnet(plan, b.resnets().get(j), learnedEmb);
                if (!b.attentions().isEmpty()) planAttention(plan, b.attentions().get(j));
            }
            planLayer(plan, b.path() + ".downsamplers.0.conv");
        }
        UNetBlock mid = model.midBlock();
        planResnet(plan, mid.resnets().get(0), learnedEmb);
        if (!mid.attentions().isEmpty()) planAttention(plan, mid.attentions().get(0));
        planResnet(plan, mid.resnets().get(1), learnedEmb);
        for (UNetBlock b : model.upBlocks()) {
            for (int j = 0; j < b.resnets().size(); j++) {
                planResnet(plan, b.resnets().get(j), learnedEmb);
                if (!b.attentions().isEmpty()) planAttention(plan, b.attentions().get(j));
            }
            planLayer(plan, b.path() + ".upsamplers.0.conv");
        }
        planLayer(plan, "conv_out");
        return plan;
    }

    private void planLayer(List<Planned> plan, String path) {
        if (model.modules().containsKey(path) && !learnable(List.of(path)).isEmpty()) plan.add(new Planned(UnitKind.LAYER, path));
    }

    private void planResnet(List<Planned> plan, ResnetBlock2D r, boolean learnedEmb) {
        if (!learnable(resnetMembers(r, learnedEmb)).isEmpty()) plan.add(new Planned(UnitKind.RESNET, r.path()));
    }

    private void planAttention(List<Planned> plan, AttentionBlock a) {
        if (!learnable(attentionMembers(a)).isEmpty()) plan.add(new Planned(UnitKind.ATTENTION, a.path()));
    }

    private static List<String> resnetMembers(ResnetBlock2D r, boolean learnedEmb) {
        String p = r.path();
        List<String> members = new ArrayList<>(List.of(p + ".conv1", p + ".conv2", p + ".conv_shortcut"));
        if (learnedEmb) members.add(p + ".time_emb_proj");
        return members;
    }

    private static List<String> attentionMembers(AttentionBlock a) {
        return List.of(a.toQ().path(), a.toK().path(), a.toV().path(), a.toOut().path());
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

    /** The TIB unit's multiply-accumulates per sample: the time-embedding MLP and every time_emb_proj. */
    private long tibMacs() {
        long n = model.timeEmbedding().macsPerImage();
        for (ResnetBlock2D r : model.resnets()) n += r.timeEmbProj().macsPerImage();
        return n;
    }

    private List<String> learnable(List<String> paths) {
        List<String> out = new ArrayList<>();
        for (String p : paths) if (wq.contains(p) && !done.contains(p)) out.add(p);
        return out;
    }

    private void unitLayer(String path, CalibrationStore data, int[] idx, BlockReconstructor trainer, Random rnd,
                           ProgressListener progress) {
        if (!model.modules().containsKey(path)) return;
        List<String> l = learnable(List.of(path));
        if (l.isEmpty()) return;
        Module m = model.module(path);
        UnitCapture.Captured c = capture(path, false, false, data, idx);
        LayerGraph g = new LayerGraph(m, slots(l).get(path), type);
        results.put(path, trainer.train(g, UnitKind.LAYER, m.macsPerImage(), List.of(c.input()), c.target(), rnd, progress,
                "blocks", path));
        done.addAll(l);
    }

    private void unitResnet(ResnetBlock2D r, boolean learnedEmb, CalibrationStore data, int[] idx, BlockReconstructor trainer,
                            Random rnd, ProgressListener progress) {
        String p = r.path();
        List<String> l = learnable(resnetMembers(r, learnedEmb));
        if (l.isEmpty()) return;
        UnitCapture.Captured c = capture(p, true, learnedEmb, data, idx);
        ResnetGraph g = new ResnetGraph(model, p, slots(l), learnedEmb, type);
        results.put(p, trainer.train(g, UnitKind.RESNET, r.macsPerImage(), List.of(c.input(), c.extra()), c.target(), rnd,
                progress, "blocks", p));
        done.addAll(l);
    }

    private void unitAttention(AttentionBlock a, CalibrationStore data, int[] idx, BlockReconstructor trainer, Random rnd,
                               ProgressListener progress) {
        List<String> l = learnable(attentionMembers(a));
        if (l.isEmpty()) return;
        UnitCapture.Captured c = capture(a.path(), false, false, data, idx);
        AttentionGraph g = new AttentionGraph(model, a, slots(l), type);
        results.put(a.path(), trainer.train(g, UnitKind.ATTENTION, a.macsPerImage(), List.of(c.input()), c.target(), rnd,
                progress, "blocks", a.path()));
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
