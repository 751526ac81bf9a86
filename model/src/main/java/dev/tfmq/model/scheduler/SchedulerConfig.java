package dev.tfmq.model.scheduler;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.io.FormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A diffusers {@code scheduler_config.json} for {@code DDPMScheduler} or {@code DDIMScheduler} (diffusers 0.25
 * semantics and defaults). The same configuration builds either scheduler, as diffusers does when it makes a DDIM
 * scheduler from a DDPM model's config: keys that only one class uses are accepted and ignored by the other.
 *
 * <p>Parsing is strict: a key we do not know is an error naming the key and the file (keys starting with {@code _}
 * are metadata and accepted); a value outside what we implement is an error naming the key and the allowed values.
 * Two legacy keys of early diffusers checkpoints are understood: {@code tensor_format} ({@code "pt"} or {@code "np"},
 * which only chose the array library and has no effect on the numbers) and {@code predict_epsilon} (true means
 * {@code prediction_type = epsilon}, false means {@code sample}).
 */
public final class SchedulerConfig {

    /** The diffusers class named by {@code _class_name}. */
    public enum Kind {
        DDPM("DDPMScheduler"), DDIM("DDIMScheduler");
        public final String className;
        Kind(String className) { this.className = className; }
    }

    public enum BetaSchedule { LINEAR, SCALED_LINEAR, SQUAREDCOS_CAP_V2 }

    public enum PredictionType { EPSILON, V_PREDICTION, SAMPLE }

    public enum TimestepSpacing { LEADING, TRAILING, LINSPACE }

    /** DDPM posterior variance choices ({@code learned} variants need a model with twice the channels: unsupported). */
    public enum VarianceType { FIXED_SMALL, FIXED_SMALL_LOG, FIXED_LARGE, FIXED_LARGE_LOG }

    private static final Set<String> KEYS = Set.of(
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type",
            "clip_sample", "clip_sample_range", "set_alpha_to_one", "steps_offset", "timestep_spacing",
            "variance_type", "thresholding", "rescale_betas_zero_snr", "dynamic_thresholding_ratio",
            "sample_max_value", "tensor_format", "predict_epsilon");

    private final Kind kind;
    private final int numTrainTimesteps;
    private final double betaStart;
    private final double betaEnd;
    private final BetaSchedule betaSchedule;
    private final double[] trainedBetas;
    private final PredictionType predictionType;
    private final boolean clipSample;
    private final double clipSampleRange;
    private final boolean setAlphaToOne;
    private final int stepsOffset;
    private final TimestepSpacing timestepSpacing;
    private final VarianceType varianceType;
    private final boolean rescaleBetasZeroSnr;
    private final double dynamicThresholdingRatio;
    private final double sampleMaxValue;

    private SchedulerConfig(Builder b) {
        if (b.kind == null) throw new IllegalArgumentException("scheduler kind (DDPM or DDIM) is required");
        if (b.numTrainTimesteps < 1) {
            throw new IllegalArgumentException("num_train_timesteps must be >= 1, got " + b.numTrainTimesteps);
        }
        if (b.trainedBetas != null) {
            if (b.trainedBetas.length != b.numTrainTimesteps) {
                throw new IllegalArgumentException("trained_betas has " + b.trainedBetas.length
                        + " values but num_train_timesteps is " + b.numTrainTimesteps);
            }
            for (double v : b.trainedBetas) {
                if (!(v > 0 && v < 1)) throw new IllegalArgumentException("trained_betas must lie in (0, 1), got " + v);
            }
        } else if (!(b.betaStart > 0 && b.betaEnd > 0 && b.betaStart < 1 && b.betaEnd < 1)) {
            throw new IllegalArgumentException("beta_start and beta_end must lie in (0, 1), got "
                    + b.betaStart + " and " + b.betaEnd);
        }
        if (b.stepsOffset < 0) throw new IllegalArgumentException("steps_offset must be >= 0, got " + b.stepsOffset);
        if (!(b.clipSampleRange > 0)) {
            throw new IllegalArgumentException("clip_sample_range must be > 0, got " + b.clipSampleRange);
        }
        this.kind = b.kind;
        this.numTrainTimesteps = b.numTrainTimesteps;
        this.betaStart = b.betaStart;
        this.betaEnd = b.betaEnd;
        this.betaSchedule = b.betaSchedule;
        this.trainedBetas = b.trainedBetas == null ? null : b.trainedBetas.clone();
        this.predictionType = b.predictionType;
        this.clipSample = b.clipSample;
        this.clipSampleRange = b.clipSampleRange;
        this.setAlphaToOne = b.setAlphaToOne;
        this.stepsOffset = b.stepsOffset;
        this.timestepSpacing = b.timestepSpacing;
        this.varianceType = b.varianceType;
        this.rescaleBetasZeroSnr = b.rescaleBetasZeroSnr;
        this.dynamicThresholdingRatio = b.dynamicThresholdingRatio;
        this.sampleMaxValue = b.sampleMaxValue;
    }

    public static Builder builder(Kind kind) { return new Builder(kind); }

    public Builder toBuilder() {
        Builder b = new Builder(kind);
        b.numTrainTimesteps = numTrainTimesteps;
        b.betaStart = betaStart;
        b.betaEnd = betaEnd;
        b.betaSchedule = betaSchedule;
        b.trainedBetas = trainedBetas == null ? null : trainedBetas.clone();
        b.predictionType = predictionType;
        b.clipSample = clipSample;
        b.clipSampleRange = clipSampleRange;
        b.setAlphaToOne = setAlphaToOne;
        b.stepsOffset = stepsOffset;
        b.timestepSpacing = timestepSpacing;
        b.varianceType = varianceType;
        b.rescaleBetasZeroSnr = rescaleBetasZeroSnr;
        b.dynamicThresholdingRatio = dynamicThresholdingRatio;
        b.sampleMaxValue = sampleMaxValue;
        return b;
    }

    /** Reads {@code scheduler_config.json}; a folder is taken to hold one (diffusers layout, also {@code scheduler/}). */
    public static SchedulerConfig read(Path file) throws IOException {
        Path f = file;
        if (Files.isDirectory(f)) {
            Path direct = f.resolve("scheduler_config.json");
            f = Files.isRegularFile(direct) ? direct : f.resolve("scheduler").resolve("scheduler_config.json");
        }
        if (!Files.isRegularFile(f)) throw new FormatException(file, "no scheduler_config.json found");
        return parse(Files.readString(f, StandardCharsets.UTF_8), f);
    }

    /** Parses the JSON text of a scheduler config; {@code source} names it in error messages. */
    public static SchedulerConfig parse(String json, Path source) throws FormatException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new FormatException(source, "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new FormatException(source, "expected a JSON object");
        JsonNode cls = root.get("_class_name");
        if (cls == null || !cls.isTextual()) {
            throw new FormatException(source, "missing \"_class_name\" (expected DDPMScheduler or DDIMScheduler)");
        }
        Kind kind = null;
        for (Kind k : Kind.values()) if (k.className.equals(cls.asText())) kind = k;
        if (kind == null) {
            throw new FormatException(source, "unsupported scheduler class \"_class_name\": \"" + cls.asText()
                    + "\" (supported: DDPMScheduler, DDIMScheduler)");
        }
        Builder b = new Builder(kind);
        Boolean predictEpsilon = null;
        boolean explicitPrediction = false;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            JsonNode v = e.getValue();
            if (key.startsWith("_")) continue;
            if (!KEYS.contains(key)) {
                throw new FormatException(source, "unknown scheduler config key \"" + key + "\" (known: "
                        + String.join(", ", new java.util.TreeSet<>(KEYS)) + ")");
            }
            switch (key) {
                case "num_train_timesteps" -> b.numTrainTimesteps = intValue(source, key, v);
                case "beta_start" -> b.betaStart = doubleValue(source, key, v);
                case "beta_end" -> b.betaEnd = doubleValue(source, key, v);
                case "beta_schedule" -> b.betaSchedule = enumValue(source, key, v, BetaSchedule.class);
                case "trained_betas" -> {
                    if (!v.isNull()) {
                        if (!v.isArray()) throw new FormatException(source, "\"trained_betas\" must be a list of numbers or null");
                        double[] tb = new double[v.size()];
                        for (int i = 0; i < tb.length; i++) tb[i] = doubleValue(source, "trained_betas[" + i + "]", v.get(i));
                        b.trainedBetas = tb;
                    }
                }
                case "prediction_type" -> {
                    b.predictionType = enumValue(source, key, v, PredictionType.class);
                    explicitPrediction = true;
                }
                case "clip_sample" -> b.clipSample = boolValue(source, key, v);
                case "clip_sample_range" -> b.clipSampleRange = doubleValue(source, key, v);
                case "set_alpha_to_one" -> b.setAlphaToOne = boolValue(source, key, v);
                case "steps_offset" -> b.stepsOffset = intValue(source, key, v);
                case "timestep_spacing" -> b.timestepSpacing = enumValue(source, key, v, TimestepSpacing.class);
                case "variance_type" -> {
                    if (!v.isNull()) b.varianceType = enumValue(source, key, v, VarianceType.class);
                }
                case "thresholding" -> {
                    if (boolValue(source, key, v)) {
                        throw new FormatException(source, "\"thresholding\": true (dynamic thresholding) is not"
                                + " supported; allowed: false");
                    }
                }
                case "rescale_betas_zero_snr" -> b.rescaleBetasZeroSnr = boolValue(source, key, v);
                case "dynamic_thresholding_ratio" -> b.dynamicThresholdingRatio = doubleValue(source, key, v);
                case "sample_max_value" -> b.sampleMaxValue = doubleValue(source, key, v);
                case "tensor_format" -> {
                    if (!v.isTextual() || !(v.asText().equals("pt") || v.asText().equals("np"))) {
                        throw new FormatException(source, "\"tensor_format\" must be \"pt\" or \"np\", got " + v);
                    }
                }
                case "predict_epsilon" -> predictEpsilon = boolValue(source, key, v);
                default -> throw new IllegalStateException(key);
            }
        }
        if (predictEpsilon != null) {
            PredictionType implied = predictEpsilon ? PredictionType.EPSILON : PredictionType.SAMPLE;
            if (explicitPrediction && b.predictionType != implied) {
                throw new FormatException(source, "\"predict_epsilon\": " + predictEpsilon
                        + " contradicts \"prediction_type\": " + b.predictionType.name().toLowerCase(Locale.ROOT));
            }
            b.predictionType = implied;
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new FormatException(source, e.getMessage());
        }
    }

    private static int intValue(Path src, String key, JsonNode v) throws FormatException {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new FormatException(src, "\"" + key + "\" must be an integer, got " + v);
        }
        return v.intValue();
    }

    private static double doubleValue(Path src, String key, JsonNode v) throws FormatException {
        if (v == null || !v.isNumber()) throw new FormatException(src, "\"" + key + "\" must be a number, got " + v);
        double d = v.doubleValue();
        if (!Double.isFinite(d)) throw new FormatException(src, "\"" + key + "\" must be finite, got " + v);
        return d;
    }

    private static boolean boolValue(Path src, String key, JsonNode v) throws FormatException {
        if (v == null || !v.isBoolean()) throw new FormatException(src, "\"" + key + "\" must be true or false, got " + v);
        return v.booleanValue();
    }

    private static <E extends Enum<E>> E enumValue(Path src, String key, JsonNode v, Class<E> type)
            throws FormatException {
        String[] allowed = Arrays.stream(type.getEnumConstants())
                .map(c -> c.name().toLowerCase(Locale.ROOT)).toArray(String[]::new);
        if (v != null && v.isTextual()) {
            for (E c : type.getEnumConstants()) {
                if (c.name().toLowerCase(Locale.ROOT).equals(v.asText())) return c;
            }
        }
        throw new FormatException(src, "unsupported \"" + key + "\": " + v + " (allowed: "
                + String.join(", ", allowed) + ")");
    }

    public Kind kind() { return kind; }
    public int numTrainTimesteps() { return numTrainTimesteps; }
    public double betaStart() { return betaStart; }
    public double betaEnd() { return betaEnd; }
    public BetaSchedule betaSchedule() { return betaSchedule; }
    /** The explicit betas, or null when they are computed from the schedule. */
    public double[] trainedBetas() { return trainedBetas == null ? null : trainedBetas.clone(); }
    public PredictionType predictionType() { return predictionType; }
    public boolean clipSample() { return clipSample; }
    public double clipSampleRange() { return clipSampleRange; }
    /** DDIM only: the "previous" alpha-bar after the last step is 1 (true) or alphas_cumprod[0] (false). */
    public boolean setAlphaToOne() { return setAlphaToOne; }
    public int stepsOffset() { return stepsOffset; }
    public TimestepSpacing timestepSpacing() { return timestepSpacing; }
    /** DDPM only. */
    public VarianceType varianceType() { return varianceType; }
    public boolean rescaleBetasZeroSnr() { return rescaleBetasZeroSnr; }
    /** Accepted for compatibility; only used by thresholding, which is not supported. */
    public double dynamicThresholdingRatio() { return dynamicThresholdingRatio; }
    /** Accepted for compatibility; only used by thresholding, which is not supported. */
    public double sampleMaxValue() { return sampleMaxValue; }

    @Override
    public String toString() {
        return kind.className + "{num_train_timesteps=" + numTrainTimesteps + ", beta_schedule="
                + betaSchedule.name().toLowerCase(Locale.ROOT) + (trainedBetas != null ? " (trained_betas)" : "")
                + ", beta_start=" + betaStart + ", beta_end=" + betaEnd + ", prediction_type="
                + predictionType.name().toLowerCase(Locale.ROOT) + ", clip_sample=" + clipSample
                + (clipSample ? "(" + clipSampleRange + ")" : "") + ", set_alpha_to_one=" + setAlphaToOne
                + ", steps_offset=" + stepsOffset + ", timestep_spacing="
                + timestepSpacing.name().toLowerCase(Locale.ROOT) + ", variance_type="
                + varianceType.name().toLowerCase(Locale.ROOT) + ", rescale_betas_zero_snr=" + rescaleBetasZeroSnr + "}";
    }

    /** Builder with the diffusers 0.25 defaults. */
    public static final class Builder {
        private Kind kind;
        private int numTrainTimesteps = 1000;
        private double betaStart = 0.0001;
        private double betaEnd = 0.02;
        private BetaSchedule betaSchedule = BetaSchedule.LINEAR;
        private double[] trainedBetas;
        private PredictionType predictionType = PredictionType.EPSILON;
        private boolean clipSample = true;
        private double clipSampleRange = 1.0;
        private boolean setAlphaToOne = true;
        private int stepsOffset = 0;
        private TimestepSpacing timestepSpacing = TimestepSpacing.LEADING;
        private VarianceType varianceType = VarianceType.FIXED_SMALL;
        private boolean rescaleBetasZeroSnr = false;
        private double dynamicThresholdingRatio = 0.995;
        private double sampleMaxValue = 1.0;

        private Builder(Kind kind) { this.kind = kind; }

        public Builder kind(Kind v) { kind = v; return this; }
        public Builder numTrainTimesteps(int v) { numTrainTimesteps = v; return this; }
        public Builder betaStart(double v) { betaStart = v; return this; }
        public Builder betaEnd(double v) { betaEnd = v; return this; }
        public Builder betaSchedule(BetaSchedule v) { betaSchedule = v; return this; }
        public Builder trainedBetas(double[] v) { trainedBetas = v == null ? null : v.clone(); return this; }
        public Builder predictionType(PredictionType v) { predictionType = v; return this; }
        public Builder clipSample(boolean v) { clipSample = v; return this; }
        public Builder clipSampleRange(double v) { clipSampleRange = v; return this; }
        public Builder setAlphaToOne(boolean v) { setAlphaToOne = v; return this; }
        public Builder stepsOffset(int v) { stepsOffset = v; return this; }
        public Builder timestepSpacing(TimestepSpacing v) { timestepSpacing = v; return this; }
        public Builder varianceType(VarianceType v) { varianceType = v; return this; }
        public Builder rescaleBetasZeroSnr(boolean v) { rescaleBetasZeroSnr = v; return this; }

        public SchedulerConfig build() { return new SchedulerConfig(this); }
    }
}
