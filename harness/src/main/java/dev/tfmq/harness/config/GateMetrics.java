package dev.tfmq.harness.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The metrics a gate rule may name, where each lives in {@code summary.json} (JSON pointer to an object with
 * {@code value}, {@code low}, {@code high}, {@code n}), where its full-precision counterpart lives, and which direction
 * is better.
 */
public final class GateMetrics {
    public record Spec(String name, String pointer, String fpPointer, String direction) {}

    private static final Map<String, Spec> SPECS = new LinkedHashMap<>();

    static {
        add("fid", "/quality/quantized/fid", "/quality/fp/fid", "lower");
        add("sfid", "/quality/quantized/sfid", "/quality/fp/sfid", "lower");
        add("kid", "/quality/quantized/kid", "/quality/fp/kid", "lower");
        add("fid-fp-vs-quantized", "/quality/fp_vs_quantized/fid", null, "lower");
        add("paired-mse", "/paired/mse", null, "lower");
        add("paired-psnr", "/paired/psnr", null, "higher");
        add("paired-ssim", "/paired/ssim", null, "higher");
        add("eps-error", "/disturbance/overall/eps_rel_l2", null, "lower");
        add("one-step-error", "/disturbance/overall/one_step_rel_l2", null, "lower");
        add("trajectory-deviation", "/disturbance/overall/trajectory_rms", null, "lower");
        add("temporal-error", "/disturbance/overall/temporal_rel_l2", null, "lower");
    }

    public static final List<String> NAMES = List.copyOf(SPECS.keySet());

    private GateMetrics() {}

    private static void add(String name, String pointer, String fp, String direction) {
        SPECS.put(name, new Spec(name, pointer, fp, direction));
    }

    public static Spec spec(String name) {
        Spec s = SPECS.get(name);
        if (s == null) throw new ConfigError("unknown gate metric '" + name + "': expected one of " + String.join(", ", NAMES));
        return s;
    }

    static boolean hasFp(String name) { return spec(name).fpPointer() != null; }

    static String direction(String name) { return spec(name).direction(); }
}
