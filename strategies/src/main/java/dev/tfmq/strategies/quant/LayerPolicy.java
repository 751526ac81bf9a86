package dev.tfmq.strategies.quant;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which conv/linear layers are quantized, following method spec §5.3 mapped onto diffusers' UNet2DModel names:
 * <ul>
 *   <li>kept in full precision (weights and input): the first time-MLP linear, {@code conv_in}, {@code conv_out},
 *       every {@code conv_shortcut} ("skip"/"shortcut" filter) and the downsampler convs ("op" filter);</li>
 *   <li>weights quantized but input activation kept FP: {@code time_embedding.linear_2} and the first ResBlock's
 *       {@code conv1}.</li>
 * </ul>
 * Both lists are glob patterns ({@code *} matches any characters, dots included) and can be replaced by a recipe.
 */
public final class LayerPolicy {
    public static final List<String> DEFAULT_KEEP_FP = List.of(
            "time_embedding.linear_1", "conv_in", "conv_out", "*.conv_shortcut", "*.downsamplers.*");
    public static final List<String> DEFAULT_FP_INPUTS = List.of(
            "time_embedding.linear_2", "down_blocks.0.resnets.0.conv1");

    private final List<String> keepFp;
    private final List<String> fpInputs;
    private final List<Pattern> keepFpRe;
    private final List<Pattern> fpInputsRe;

    public LayerPolicy(List<String> keepFp, List<String> fpInputs) {
        this.keepFp = List.copyOf(keepFp);
        this.fpInputs = List.copyOf(fpInputs);
        this.keepFpRe = compile(keepFp);
        this.fpInputsRe = compile(fpInputs);
    }

    public static LayerPolicy defaults() { return new LayerPolicy(DEFAULT_KEEP_FP, DEFAULT_FP_INPUTS); }

    public List<String> keepFp() { return keepFp; }

    public List<String> fpInputs() { return fpInputs; }

    /** Whether the layer is quantized at all (weights, and its input unless {@link #quantizesInput} says no). */
    public boolean quantizes(String path) { return !matches(keepFpRe, path); }

    public boolean quantizesInput(String path) { return quantizes(path) && !matches(fpInputsRe, path); }

    private static boolean matches(List<Pattern> ps, String path) {
        for (Pattern p : ps) if (p.matcher(path).matches()) return true;
        return false;
    }

    private static List<Pattern> compile(List<String> globs) {
        List<Pattern> out = new ArrayList<>();
        for (String g : globs) {
            if (g.isBlank()) throw new IllegalArgumentException("empty layer pattern in a layer list");
            List<String> parts = new ArrayList<>();
            for (String part : g.split("\\*", -1)) parts.add(Pattern.quote(part));
            out.add(Pattern.compile(String.join(".*", parts)));
        }
        return out;
    }
}
