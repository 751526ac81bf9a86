package dev.tfmq.strategies.recipe;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValueType;
import dev.tfmq.strategies.quant.BitWidths;
import dev.tfmq.strategies.quant.LayerPolicy;
import dev.tfmq.strategies.quant.UnknownTimestepPolicy;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.recon.ReconstructionSettings;
import dev.tfmq.strategies.temporal.DisturbanceMetric;
import dev.tfmq.strategies.temporal.SelectionMeasure;
import dev.tfmq.strategies.temporal.SelectionTable;
import dev.tfmq.strategies.temporal.TemporalFeatureCache;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What to do to a full-precision model: bit setting, layer rules, weight initialisation and reconstruction,
 * activation calibration, and how temporal features are maintained. Read from the {@code recipe} block of a HOCON
 * config (see {@code configs/recipes/}); every key is checked.
 */
public record QuantizationRecipe(
        String name,
        BitWidths bits,
        LayerPolicy layers,
        WeightInit weightInit,
        ReconstructionSettings reconstruction,
        Activation activation,
        Temporal temporal,
        BiasCorrectionSettings biasCorrection,
        String rendered) {

    /** How the TIB's weights are treated during reconstruction. */
    public enum TibReconstruction {
        /** TIAR: AdaRound on the TIB weights with the loss on all temporal features; frozen afterwards (TFMQ). */
        TIAR,
        /** No TIB separation: time_emb_proj reconstructed inside its ResBlock, linear_2 as a layer (Q-Diffusion). */
        BLOCK,
        /** TIB weights rounded to nearest and frozen during ResBlock reconstruction (the paper's "Freeze"). */
        FREEZE
    }

    /** How activation grids are calibrated. */
    public enum ActivationCalibrationMode { FSC, SINGLE }

    public enum FscScope { TIB, ALL }

    public enum ActivationInit { MINMAX, MSE }

    public enum TemporalStrategy { TIB, CACHE, SELECTION }

    /**
     * @param stepSizeIterations Q-Diffusion's activation step-size reconstruction (0 = off; Q-Diffusion: 5000)
     */
    public record Activation(ActivationCalibrationMode calibration, FscScope scope, ActivationInit init,
                             UnknownTimestepPolicy unknownTimestep, int stepSizeIterations, double stepSizeLr) {}

    /**
     * Bias correction of the quantized layers after calibration ({@code dev.tfmq.strategies.bias.BiasCorrection}).
     *
     * @param samples calibration samples the per-channel means are taken over, spread evenly over the steps
     */
    public record BiasCorrectionSettings(boolean enabled, int samples) {
        public static final int SAMPLES = 256;
    }

    /**
     * @param metric       the feature distance of the {@link SelectionMeasure#FEATURE} measure
     * @param measure      what selection compares the candidates by (temporal-feature distance or output error)
     * @param probeSamples FP trajectories the {@link SelectionMeasure#OUTPUT} measure runs both candidates on
     */
    public record Temporal(TemporalStrategy strategy, int cacheBits, TemporalFeatureCache.Uncached uncached,
                           DisturbanceMetric metric, SelectionTable.Granularity granularity, SelectionMeasure measure,
                           int probeSamples) {}

    /**
     * Parses a HOCON file (with its includes, resolving {@code ${?ENV}} overrides such as TFMQ_BITS), for
     * {@link #fromConfig} and {@link CalibrationSettings#fromConfig}.
     */
    public static Config loadConfig(java.nio.file.Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) throw new IllegalArgumentException("no config file at " + file);
        try {
            return com.typesafe.config.ConfigFactory.parseFile(file.toFile(),
                    com.typesafe.config.ConfigParseOptions.defaults().setAllowMissing(false)).resolve();
        } catch (com.typesafe.config.ConfigException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
    }

    /** Reads {@code config.getConfig("recipe")} when present, else the config itself. */
    public static QuantizationRecipe fromConfig(Config config) {
        Config c = config.hasPath("recipe") && config.getValue("recipe").valueType() == ConfigValueType.OBJECT
                ? config.getConfig("recipe") : config;
        ConfigFields f = new ConfigFields(c, "recipe",
                Set.of("name", "bits", "weight-init", "layers", "reconstruction", "activation", "temporal", "bias-correction"));
        String name = f.string("name", "unnamed");
        BitWidths bits = readBits(f);
        ConfigFields lf = new ConfigFields(f.sub("layers"), "recipe.layers", Set.of("keep-fp", "fp-inputs"));
        LayerPolicy layers;
        try {
            layers = new LayerPolicy(lf.strings("keep-fp", LayerPolicy.DEFAULT_KEEP_FP), lf.strings("fp-inputs", LayerPolicy.DEFAULT_FP_INPUTS));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(lf.at("keep-fp") + ": " + e.getMessage());
        }
        WeightInit init = f.choice("weight-init", "mse", Map.of("mse", WeightInit.MSE, "minmax", WeightInit.MINMAX));

        ConfigFields rf = new ConfigFields(f.sub("reconstruction"), "recipe.reconstruction",
                Set.of("enabled", "tib", "blocks", "iterations", "batch-size", "lambda", "beta", "warmup", "lr", "seed"));
        boolean recon = rf.bool("enabled", true);
        TibReconstruction tib = rf.choice("tib", "tiar",
                Map.of("tiar", TibReconstruction.TIAR, "block", TibReconstruction.BLOCK, "freeze", TibReconstruction.FREEZE));
        double[] beta = {ReconstructionSettings.BETA_START, ReconstructionSettings.BETA_END};
        if (rf.has("beta")) {
            java.util.List<Double> b;
            try {
                b = rf.raw().getDoubleList("beta");
            } catch (com.typesafe.config.ConfigException e) {
                throw new IllegalArgumentException(rf.at("beta") + ": must be a list of two numbers [start, end]");
            }
            if (b.size() != 2 || !(b.get(0) >= b.get(1)) || !(b.get(1) > 0)) {
                throw new IllegalArgumentException(rf.at("beta") + ": must be [start, end] with start >= end > 0, got " + b);
            }
            beta = new double[] {b.get(0), b.get(1)};
        }
        ReconstructionSettings rs = new ReconstructionSettings(recon, tib, rf.bool("blocks", true),
                rf.integer("iterations", ReconstructionSettings.ITERATIONS, 1, 10_000_000),
                rf.integer("batch-size", ReconstructionSettings.BATCH, 1, 1 << 16),
                rf.number("lambda", ReconstructionSettings.LAMBDA, 0, 1e6), beta[0], beta[1],
                rf.number("warmup", ReconstructionSettings.WARMUP, 0, 0.999),
                rf.number("lr", ReconstructionSettings.LR, 1e-12, 10), rf.longValue("seed", 1234, Long.MIN_VALUE));

        ConfigFields af = new ConfigFields(f.sub("activation"), "recipe.activation",
                Set.of("calibration", "fsc-scope", "init", "unknown-timestep", "step-size-reconstruction"));
        ConfigFields sf = new ConfigFields(af.sub("step-size-reconstruction"), "recipe.activation.step-size-reconstruction",
                Set.of("enabled", "iterations", "lr"));
        Activation act = new Activation(
                af.choice("calibration", "fsc", Map.of("fsc", ActivationCalibrationMode.FSC, "single", ActivationCalibrationMode.SINGLE)),
                af.choice("fsc-scope", "all", Map.of("tib", FscScope.TIB, "all", FscScope.ALL)),
                af.choice("init", "minmax", Map.of("minmax", ActivationInit.MINMAX, "mse", ActivationInit.MSE)),
                af.choice("unknown-timestep", "fail", Map.of("fail", UnknownTimestepPolicy.FAIL, "nearest", UnknownTimestepPolicy.NEAREST)),
                sf.bool("enabled", false) ? sf.integer("iterations", 5000, 1, 10_000_000) : 0, sf.number("lr", 4e-4, 1e-12, 10));
        if (act.stepSizeIterations() > 0 && act.calibration() != ActivationCalibrationMode.SINGLE) {
            throw new IllegalArgumentException(sf.at("enabled") + ": step-size reconstruction learns one grid per "
                    + "activation (Q-Diffusion) and needs activation.calibration = single, not " + act.calibration());
        }

        ConfigFields tf = new ConfigFields(f.sub("temporal"), "recipe.temporal",
                Set.of("strategy", "cache-bits", "uncached", "selection"));
        ConfigFields sel = new ConfigFields(tf.sub("selection"), "recipe.temporal.selection",
                Set.of("measure", "metric", "granularity", "samples"));
        int defaultCacheBits = bits.quantizesActivations() ? bits.activation() : 8;
        SelectionMeasure measure = sel.choice("measure", "feature", Map.of("feature", SelectionMeasure.FEATURE,
                "output", SelectionMeasure.OUTPUT));
        Temporal temporal = new Temporal(
                tf.choice("strategy", "tib", Map.of("tib", TemporalStrategy.TIB, "cache", TemporalStrategy.CACHE,
                        "selection", TemporalStrategy.SELECTION)),
                tf.integer("cache-bits", defaultCacheBits, 2, 16),
                tf.choice("uncached", "fail", Map.of("fail", TemporalFeatureCache.Uncached.FAIL,
                        "fallback", TemporalFeatureCache.Uncached.FALLBACK)),
                sel.choice("metric", "rel-l2", Map.of("rel-l2", DisturbanceMetric.REL_L2, "cosine", DisturbanceMetric.COSINE)),
                granularity(sel, measure), measure, sel.integer("samples", 16, 1, 1 << 16));
        BiasCorrectionSettings bias = readBiasCorrection(f);
        String rendered = c.root().render(ConfigRenderOptions.concise());
        return new QuantizationRecipe(name, bits, layers, init, rs, act, temporal, bias, rendered);
    }

    /** {@code bias-correction = true|false}, or {@code bias-correction { enabled = ..., samples = ... }}. */
    private static BiasCorrectionSettings readBiasCorrection(ConfigFields f) {
        if (!f.has("bias-correction")) return new BiasCorrectionSettings(true, BiasCorrectionSettings.SAMPLES);
        if (f.type("bias-correction") != ConfigValueType.OBJECT) {
            return new BiasCorrectionSettings(f.bool("bias-correction", true), BiasCorrectionSettings.SAMPLES);
        }
        ConfigFields b = new ConfigFields(f.sub("bias-correction"), "recipe.bias-correction", Set.of("enabled", "samples"));
        return new BiasCorrectionSettings(b.bool("enabled", true), b.integer("samples", BiasCorrectionSettings.SAMPLES, 1, 1 << 20));
    }

    /**
     * The feature measure decides per member (or per member and time-step); the output measure per time-step for
     * every member together, because the output error belongs to the whole serving at a step, not to one member.
     */
    private static SelectionTable.Granularity granularity(ConfigFields sel, SelectionMeasure measure) {
        SelectionTable.Granularity g = sel.choice("granularity", measure == SelectionMeasure.OUTPUT ? "step" : "member",
                Map.of("member", SelectionTable.Granularity.MEMBER, "member-step", SelectionTable.Granularity.MEMBER_STEP,
                        "step", SelectionTable.Granularity.STEP));
        if (measure == SelectionMeasure.OUTPUT && g != SelectionTable.Granularity.STEP) {
            throw new IllegalArgumentException(sel.at("granularity") + ": '" + sel.string("granularity", "") + "' with measure = output; "
                    + "the output measure decides per time-step for all members together: use granularity = step (or leave it out)");
        }
        if (measure == SelectionMeasure.FEATURE && g == SelectionTable.Granularity.STEP) {
            throw new IllegalArgumentException(sel.at("granularity") + ": 'step' decides by the output error: set measure = output, "
                    + "or use member or member-step with the feature measure");
        }
        return g;
    }

    private static BitWidths readBits(ConfigFields f) {
        if (!f.has("bits")) return BitWidths.W4A8;
        try {
            if (f.type("bits") == ConfigValueType.STRING) return BitWidths.parse(f.string("bits", "W4A8"));
            ConfigFields b = new ConfigFields(f.sub("bits"), "recipe.bits", Set.of("weight", "activation", "softmax"));
            return new BitWidths(b.integer("weight", 4, Integer.MIN_VALUE, Integer.MAX_VALUE),
                    b.integer("activation", 8, Integer.MIN_VALUE, Integer.MAX_VALUE),
                    b.integer("softmax", 8, Integer.MIN_VALUE, Integer.MAX_VALUE));
        } catch (IllegalArgumentException e) {
            if (e.getMessage().startsWith("recipe.")) throw e;
            throw new IllegalArgumentException(f.at("bits") + ": " + e.getMessage());
        }
    }

    /** A summary for logs and provenance. */
    public Map<String, String> summary() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("bits", bits.name());
        m.put("tib", reconstruction.enabled() ? reconstruction.tib().name() : "none");
        m.put("activation", activation.calibration() + (activation.calibration() == ActivationCalibrationMode.FSC ? "/" + activation.scope() : ""));
        m.put("temporal", temporal.strategy().name());
        m.put("bias-correction", biasCorrection.enabled() ? "on (" + biasCorrection.samples() + " samples)" : "off");
        return m;
    }
}
