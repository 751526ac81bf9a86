package dev.tfmq.harness;

import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.QualityAccumulator;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.model.unet.UNet2DConfig;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Small models for harness tests: a tiny random UNet (1×16×16 images), the same UNet with weights fake-quantized by
 * per-tensor 4-bit rounding (test-only quantizer with two TIB strategies), and a pixel-pooling featurizer.
 */
public final class TestModels {
    public static final long SEED = 7;

    private TestModels() {}

    public static Path configFile() {
        try {
            Path dir = Files.createTempDirectory("tfmq-tiny");
            Path f = dir.resolve("config.json");
            Files.writeString(f, """
                    {"_class_name": "UNet2DModel", "act_fn": "silu", "add_attention": true, "attention_head_dim": 8,
                     "block_out_channels": [8, 16], "center_input_sample": false, "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
                     "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 1, "layers_per_block": 1,
                     "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 4, "out_channels": 1,
                     "resnet_time_scale_shift": "default", "sample_size": 16, "time_embedding_type": "positional",
                     "up_block_types": ["AttnUpBlock2D", "UpBlock2D"]}
                    """);
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static UNet2DModel unet() {
        try {
            return UNet2DModel.random(UNet2DConfig.read(configFile()), SEED, DataType.FLOAT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static SchedulerConfig scheduler() {
        return SchedulerConfig.builder(SchedulerConfig.Kind.DDIM).numTrainTimesteps(1000).build();
    }

    /** Rounds a weight tensor to 2^(bits-1)-1 symmetric levels of its max magnitude. */
    static INDArray round(INDArray w, int bits) {
        double max = w.amaxNumber().doubleValue();
        if (max == 0) return w.dup();
        double scale = max / ((1 << (bits - 1)) - 1);
        return Transforms.round(w.div(scale), true).muli(scale);
    }

    /** Call log of forward passes: thread name, start and end nanos. */
    public static final List<long[]> CALLS = Collections.synchronizedList(new ArrayList<>());
    public static final Map<Long, String> THREADS = Collections.synchronizedMap(new LinkedHashMap<>());

    /** The FP side, logging its forward passes (side id 0). */
    public static DenoiserSide fp() {
        return new Logged(new UNetSide("fp", unet()), 0, null);
    }

    /** The quantized side (side id 1); {@code crashAt} = number of forward calls after which it throws (0: never). */
    public static DenoiserSide quantized(int crashAt) {
        return new Logged(new RoundedSide(), 1, crashAt > 0 ? new AtomicInteger(crashAt) : null);
    }

    /**
     * The UNet with convolution and linear weights rounded to 4 bits. Strategies for the temporal features:
     * "tib" (its own, rounded TIB) and "fp-tib" (the TIB of the unrounded weights); applies a selection per member.
     */
    static final class RoundedSide implements DenoiserSide {
        final UNet2DModel q = unet();
        final UNet2DModel ref = unet();
        final UNetSide view;
        Map<String, String> choice;

        RoundedSide() {
            for (Module m : q.modules().values()) {
                if (m instanceof Conv2d c) c.setWeight(round(c.parameters().get(c.path() + ".weight"), 4));
                else if (m instanceof Linear l) l.setWeight(round(l.parameters().get(l.path() + ".weight"), 4));
            }
            view = new UNetSide("quantized", q);
        }

        @Override public String label() { return "quantized"; }
        @Override public List<String> members() { return view.members(); }
        @Override public List<String> strategies() { return List.of("tib", "fp-tib"); }

        @Override
        public Map<String, float[]> temporalFeatures(long t, String strategy) {
            return switch (strategy) {
                case "tib" -> UNetSide.features(q.computeTemporalFeatures(new long[] {t}));
                case "fp-tib" -> UNetSide.features(ref.computeTemporalFeatures(new long[] {t}));
                default -> throw new IllegalArgumentException(strategy);
            };
        }

        @Override
        public Map<String, float[]> appliedTemporalFeatures(long t) {
            Map<String, float[]> own = temporalFeatures(t, "tib"), fpf = temporalFeatures(t, "fp-tib");
            Map<String, float[]> out = new LinkedHashMap<>();
            for (String m : members()) out.put(m, choice == null || choice.get(m).equals("tib") ? own.get(m) : fpf.get(m));
            return out;
        }

        @Override
        public void apply(SelectionTable table) {
            choice = table.perMember();
            q.setTemporalFeatureSource((model, tf) -> {
                model.fillFromTib(tf);
                TemporalFeatures r = ref.computeTemporalFeatures(tf.timesteps());
                if (choice.get(UNetSide.EMBEDDING).equals("fp-tib")) tf.embedding().assign(r.embedding());
                tf.projections().forEach((k, v) -> {
                    if (choice.get(k).equals("fp-tib")) v.assign(r.projection(k));
                });
            });
        }

        @Override
        public java.util.Optional<SelectionTable> calibratedSelection() { return java.util.Optional.empty(); }

        @Override
        public void predictWith(String strategy, INDArray sample, long[] timesteps, INDArray out) {
            if (!strategies().contains(strategy)) throw new IllegalArgumentException(strategy);
            Map<String, String> applied = choice;
            Map<String, String> all = new LinkedHashMap<>();
            for (String m : members()) all.put(m, strategy);
            apply(new SelectionTable("per-member", "relative-l2", strategies(), all, Map.of(), Map.of()));
            try {
                predict(sample, timesteps, out);
            } finally {
                if (applied != null) apply(new SelectionTable("per-member", "relative-l2", strategies(), applied, Map.of(), Map.of()));
                else {
                    choice = null;
                    q.setTemporalFeatureSource(null);
                }
            }
        }

        @Override
        public void predict(INDArray sample, long[] timesteps, INDArray out) {
            q.forward(sample, timesteps, out);
        }
    }

    /** Delegating side that records which thread ran each forward pass and when. */
    public static class Logged implements DenoiserSide {
        final DenoiserSide d;
        final int id;
        final AtomicInteger crash;

        public Logged(DenoiserSide d, int id, AtomicInteger crash) {
            this.d = d;
            this.id = id;
            this.crash = crash;
        }

        @Override public String label() { return d.label(); }
        @Override public List<String> members() { return d.members(); }
        @Override public List<String> strategies() { return d.strategies(); }
        @Override public Map<String, float[]> temporalFeatures(long t, String s) { return d.temporalFeatures(t, s); }
        @Override public Map<String, float[]> appliedTemporalFeatures(long t) { return d.appliedTemporalFeatures(t); }
        @Override public void apply(SelectionTable table) { d.apply(table); }
        @Override public java.util.Optional<SelectionTable> calibratedSelection() { return d.calibratedSelection(); }

        @Override
        public void predictWith(String strategy, INDArray sample, long[] timesteps, INDArray out) {
            if (crash != null && crash.decrementAndGet() == 0) throw new IllegalStateException("injected crash");
            d.predictWith(strategy, sample, timesteps, out);
        }

        @Override
        public void predict(INDArray sample, long[] timesteps, INDArray out) {
            if (crash != null && crash.decrementAndGet() == 0) throw new IllegalStateException("injected crash");
            long t0 = System.nanoTime();
            d.predict(sample, timesteps, out);
            CALLS.add(new long[] {id, t0, System.nanoTime(), Thread.currentThread().getId()});
            THREADS.put(Thread.currentThread().getId(), Thread.currentThread().getName());
        }
    }

    /** Features of 16×16 images: 4×4 average pooling (16-d pooled) and 2×2 average pooling (64-d spatial). */
    public static ImageFeaturizer featurizer() {
        return new ImageFeaturizer() {
            @Override public String name() { return "pixel-pool"; }
            @Override public int pooledDim() { return 16; }
            @Override public int spatialDim() { return 64; }

            @Override
            public Extracted extract(INDArray images) {
                int b = (int) images.size(0);
                float[] px = images.castTo(DataType.FLOAT).dup('c').data().asFloat();
                float[] pooled = new float[b * 16], spatial = new float[b * 64];
                for (int i = 0; i < b; i++) {
                    for (int y = 0; y < 16; y++) {
                        for (int x = 0; x < 16; x++) {
                            float v = px[i * 256 + y * 16 + x];
                            pooled[i * 16 + (y / 4) * 4 + x / 4] += v / 16f;
                            spatial[i * 64 + (y / 2) * 8 + x / 2] += v / 4f;
                        }
                    }
                }
                return new Extracted(Nd4j.create(pooled, new long[] {b, 16}, DataType.FLOAT),
                        Nd4j.create(spatial, new long[] {b, 64}, DataType.FLOAT));
            }
        };
    }

    /** Reference statistics from fixed random "real" images. */
    public static QualityAccumulator.Reference reference() {
        Random r = new Random(3);
        float[] px = new float[400 * 256];
        for (int i = 0; i < px.length; i++) px[i] = (float) Math.min(1, Math.max(0, 0.5 + 0.25 * r.nextGaussian()));
        ImageFeaturizer.Extracted e = featurizer().extract(Nd4j.create(px, new long[] {400, 1, 16, 16}, DataType.FLOAT));
        FeatureStatistics p = new FeatureStatistics(16), s = new FeatureStatistics(64);
        p.update(e.pooled());
        s.update(e.spatial());
        return new QualityAccumulator.Reference("random-test-images", Gaussian.of(p), Gaussian.of(s), e.pooled());
    }

    /** The tiny UNet as a diffusers model folder (config.json, safetensors weights, scheduler/scheduler_config.json). */
    public static void writeTinyModelFolder(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("scheduler"));
        Files.copy(configFile(), dir.resolve("config.json"));
        Map<String, INDArray> weights = new LinkedHashMap<>();
        for (Module m : unet().modules().values()) weights.putAll(m.parameters());
        dev.tfmq.model.io.SafeTensors.write(dir.resolve("diffusion_pytorch_model.safetensors"), weights, Map.of());
        Files.writeString(dir.resolve("scheduler/scheduler_config.json"),
                "{\"_class_name\": \"DDIMScheduler\", \"num_train_timesteps\": 1000}");
    }

    public static RunLauncher.Parts parts(int crashAt) {
        return new RunLauncher.Parts(TestModels::fp, () -> quantized(crashAt), TestModels::featurizer, reference(), scheduler(),
                new long[] {1, 16, 16}, "tiny-random-unet-seed-" + SEED);
    }

    /** A small run config: extra overrides as key=value. */
    public static RunConfig config(Path dir, String... sets) {
        List<String> all = new ArrayList<>(List.of("run.samples=40", "run.batch-size=8", "model.steps=6", "monitor.probe-samples=3",
                "dashboard.enabled=false", "metrics.every-batches=2", "metrics.bootstrap-replicates=8", "metrics.spatial-bootstrap-replicates=4", "metrics.reservoir=64",
                "metrics.kid-subset-size=16", "metrics.kid-subsets=4", "run.checkpoint-every-batches=1",
                "quantization.cache-dir=\"" + dir.resolve("cache") + "\"", "quantization.recipe=test-round"));
        all.addAll(List.of(sets));
        return ConfigLoader.load(null, all, Map.of());
    }
}
