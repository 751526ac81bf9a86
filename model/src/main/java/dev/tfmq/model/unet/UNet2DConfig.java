package dev.tfmq.model.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.io.FormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A diffusers {@code UNet2DModel} {@code config.json}. Every field of the diffusers class is known here: fields we
 * implement take their diffusers defaults when absent, and a field whose value we don't implement (or a field
 * the class doesn't have) is an error naming the file, the key and the value, never silently ignored.
 */
public record UNet2DConfig(
        Integer sampleSize,
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        int freqShift,
        boolean flipSinToCos,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int layersPerBlock,
        double midBlockScaleFactor,
        int downsamplePadding,
        Integer attentionHeadDim,
        Integer normNumGroups,
        Integer attnNormNumGroups,
        double normEps,
        String resnetTimeScaleShift,
        boolean addAttention) {

    private static final Set<String> DOWN = Set.of("DownBlock2D", "AttnDownBlock2D");
    private static final Set<String> UP = Set.of("UpBlock2D", "AttnUpBlock2D");

    public static UNet2DConfig read(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new FormatException(file, "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new FormatException(file, "must be a JSON object");
        return parse(file, root);
    }

    static UNet2DConfig parse(Path file, JsonNode root) throws FormatException {
        Fields f = new Fields(file, root);
        String cls = f.optString("_class_name", "UNet2DModel");
        if (!cls.equals("UNet2DModel")) {
            throw new FormatException(file, "_class_name '" + cls + "' is not supported (only UNet2DModel)");
        }
        Integer sampleSize = f.optIntOrNull("sample_size");
        int in = f.optInt("in_channels", 3);
        int out = f.optInt("out_channels", 3);
        boolean center = f.optBool("center_input_sample", false);
        f.require("time_embedding_type", "positional", "positional");
        int freqShift = f.optInt("freq_shift", 0);
        boolean flip = f.optBool("flip_sin_to_cos", true);
        List<String> down = f.optStrings("down_block_types",
                List.of("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"));
        List<String> up = f.optStrings("up_block_types",
                List.of("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"));
        int[] channels = f.optInts("block_out_channels", new int[]{224, 448, 672, 896});
        int layers = f.optInt("layers_per_block", 2);
        double midScale = f.optDouble("mid_block_scale_factor", 1.0);
        int downPad = f.optInt("downsample_padding", 1);
        f.require("downsample_type", "conv", "conv");
        f.require("upsample_type", "conv", "conv");
        f.optDouble("dropout", 0.0); // inference only: dropout is the identity
        String act = f.optString("act_fn", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw new FormatException(file, "act_fn '" + act + "' is not supported (supported: silu, swish)");
        }
        Integer headDim = f.optIntOrNull("attention_head_dim", 8);
        Integer groups = f.optIntOrNull("norm_num_groups", 32);
        Integer attnGroups = f.optIntOrNull("attn_norm_num_groups", null);
        double eps = f.optDouble("norm_eps", 1e-5);
        String shift = f.optString("resnet_time_scale_shift", "default");
        if (!shift.equals("default") && !shift.equals("scale_shift")) {
            throw new FormatException(file, "resnet_time_scale_shift '" + shift
                    + "' is not supported (supported: default, scale_shift)");
        }
        boolean addAttention = f.optBool("add_attention", true);
        f.requireNull("class_embed_type");
        f.requireNull("num_class_embeds");
        f.optIntOrNull("num_train_timesteps", null); // only used by the fourier embedding / class embeddings
        f.rejectUnknown();

        if (down.size() != channels.length) {
            throw new FormatException(file, "down_block_types has " + down.size() + " entries but block_out_channels has "
                    + channels.length);
        }
        if (up.size() != channels.length) {
            throw new FormatException(file, "up_block_types has " + up.size() + " entries but block_out_channels has "
                    + channels.length);
        }
        for (String d : down) {
            if (!DOWN.contains(d)) throw new FormatException(file, "down_block_types entry '" + d
                    + "' is not supported (supported: DownBlock2D, AttnDownBlock2D)");
        }
        for (String u : up) {
            if (!UP.contains(u)) throw new FormatException(file, "up_block_types entry '" + u
                    + "' is not supported (supported: UpBlock2D, AttnUpBlock2D)");
        }
        if (layers < 1) throw new FormatException(file, "layers_per_block must be >= 1, got " + layers);
        if (in < 1 || out < 1) throw new FormatException(file, "in_channels/out_channels must be >= 1");
        if (groups != null && groups < 1) throw new FormatException(file, "key 'norm_num_groups' = " + groups + ": must be >= 1");
        if (attnGroups != null && attnGroups < 1) {
            throw new FormatException(file, "key 'attn_norm_num_groups' = " + attnGroups + ": must be >= 1");
        }
        if (attnGroups != null && channels[channels.length - 1] % attnGroups != 0) {
            throw new FormatException(file, "key 'attn_norm_num_groups' = " + attnGroups + " does not divide the "
                    + channels[channels.length - 1] + " channels of the mid block");
        }
        if (headDim != null && headDim < 1) {
            throw new FormatException(file, "key 'attention_head_dim' = " + headDim + ": must be >= 1 (or null for one head)");
        }
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new FormatException(file, "key 'norm_eps' = " + eps + ": must be a finite number > 0");
        }
        if (!(midScale > 0) || Double.isInfinite(midScale)) {
            throw new FormatException(file, "key 'mid_block_scale_factor' = " + midScale + ": must be a finite number > 0");
        }
        if (downPad < 0) throw new FormatException(file, "key 'downsample_padding' = " + downPad + ": must be >= 0");
        if (groups == null) {
            for (int c : channels) {
                int g = Math.min(c / 4, 32);
                if (g < 1 || c % g != 0) {
                    throw new FormatException(file, "norm_num_groups is null, and the fallback min(channels / 4, 32) = " + g
                            + " does not divide block_out_channels entry " + c + "; set norm_num_groups");
                }
            }
        }
        if (groups != null) {
            for (int c : channels) {
                if (c % groups != 0) {
                    throw new FormatException(file, "block_out_channels entry " + c + " is not divisible by norm_num_groups "
                            + groups);
                }
            }
        }
        if (headDim != null) {
            for (int i = 0; i < channels.length; i++) {
                boolean attn = down.get(i).startsWith("Attn") || up.get(channels.length - 1 - i).startsWith("Attn")
                        || (addAttention && i == channels.length - 1);
                if (attn && channels[i] % headDim != 0) {
                    throw new FormatException(file, "attention_head_dim " + headDim + " does not divide "
                            + channels[i] + " channels");
                }
            }
        }
        UNet2DConfig c = new UNet2DConfig(sampleSize, in, out, center, freqShift, flip, List.copyOf(down), List.copyOf(up),
                channels, layers, midScale, downPad, headDim, groups, attnGroups, eps, shift, addAttention);
        if (sampleSize != null) {
            String p = sampleSize < 1 || sampleSize > MAX_SAMPLE_SIZE ? "must lie in [1, " + MAX_SAMPLE_SIZE + "]"
                    : c.sizeProblem(sampleSize);
            if (p != null) throw new FormatException(file, "key 'sample_size' = " + sampleSize + ": " + p);
        }
        return c;
    }

    /** The largest {@code sample_size} accepted (a 4096² image already needs gigabytes per activation). */
    public static final int MAX_SAMPLE_SIZE = 4096;

    /** How many times the down path halves the resolution (one downsampler per block but the last). */
    public int downsamplings() { return blockOutChannels.length - 1; }

    /**
     * Why an input of this height or width cannot run through this UNet, or null when it can: every skip
     * connection of the up path must meet a down-path activation of the same size, which (with the usual
     * padding) means a multiple of 2^{@link #downsamplings()}. O(number of blocks), no tensor touched.
     */
    public String sizeProblem(long size) {
        if (size < 1) return "must be >= 1";
        int levels = blockOutChannels.length;
        long[] sizes = new long[levels];
        sizes[0] = size;
        for (int i = 0; i + 1 < levels; i++) {
            long next = downsamplePadding == 0 ? (sizes[i] - 2) / 2 + 1 : (sizes[i] + 2L * downsamplePadding - 3) / 2 + 1;
            if (sizes[i] < 2 || next < 1) return tooSmall(size);
            sizes[i + 1] = next;
        }
        long up = sizes[levels - 1];
        for (int i = levels - 1; i >= 0; i--) {
            if (up != sizes[i]) {
                return "the UNet downsamples " + downsamplings() + " times (downsample_padding " + downsamplePadding
                        + "), so " + size + " does not come back to its own size on the up path; use a multiple of "
                        + (1L << downsamplings()) + " (e.g. " + nearMultiple(size) + ")";
            }
            up *= 2;
        }
        return null;
    }

    private String tooSmall(long size) {
        return size + " is too small for " + downsamplings() + " downsamplings; use a multiple of " + (1L << downsamplings());
    }

    private long nearMultiple(long size) {
        long f = 1L << downsamplings();
        long lower = size / f * f;
        return lower >= f ? lower : f;
    }

    /** Time-embedding width: 4 × the first block's channels, as diffusers builds it. */
    public int timeEmbedDim() { return blockOutChannels[0] * 4; }

    /** Group count for resnets and attention norms; diffusers' fallback when unset. */
    int resnetGroups(int channels) {
        return normNumGroups != null ? normNumGroups : Math.min(channels / 4, 32);
    }

    /** Tracks which keys were read so that unknown keys can be reported. */
    private static final class Fields {
        private final Path file;
        private final JsonNode root;
        private final Set<String> seen = new java.util.HashSet<>();

        Fields(Path file, JsonNode root) {
            this.file = file;
            this.root = root;
        }

        private JsonNode get(String key) {
            seen.add(key);
            JsonNode n = root.get(key);
            return n == null || n.isNull() ? null : n;
        }

        private FormatException bad(String key, JsonNode n, String expected) {
            return new FormatException(file, "key '" + key + "' = " + n + ": expected " + expected);
        }

        String optString(String key, String dflt) throws FormatException {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isTextual()) throw bad(key, n, "a string");
            return n.asText();
        }

        void require(String key, String dflt, String only) throws FormatException {
            String v = optString(key, dflt);
            if (!v.equals(only)) {
                throw new FormatException(file, "key '" + key + "' = '" + v + "' is not supported (supported: " + only + ")");
            }
        }

        void requireNull(String key) throws FormatException {
            JsonNode n = get(key);
            if (n != null) {
                throw new FormatException(file, "key '" + key + "' = " + n + " is not supported (class conditioning; must be null)");
            }
        }

        int optInt(String key, int dflt) throws FormatException {
            Integer v = optIntOrNull(key, dflt);
            if (v == null) throw new FormatException(file, "key '" + key + "' must not be null");
            return v;
        }

        Integer optIntOrNull(String key) throws FormatException {
            return optIntOrNull(key, null);
        }

        Integer optIntOrNull(String key, Integer dflt) throws FormatException {
            if (!root.has(key)) {
                seen.add(key);
                return dflt;
            }
            JsonNode n = get(key);
            if (n == null) return null;
            if (n.isArray() && n.size() > 0 && n.get(0).isIntegralNumber()) {
                // sample_size may be [H, W]; we accept square sizes
                if (n.size() == 2 && n.get(0).asInt() == n.get(1).asInt()) return n.get(0).asInt();
                throw bad(key, n, "an integer or a square [H, W]");
            }
            if (!n.isIntegralNumber()) throw bad(key, n, "an integer");
            return n.asInt();
        }

        double optDouble(String key, double dflt) throws FormatException {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isNumber()) throw bad(key, n, "a number");
            return n.asDouble();
        }

        boolean optBool(String key, boolean dflt) throws FormatException {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isBoolean()) throw bad(key, n, "true or false");
            return n.asBoolean();
        }

        List<String> optStrings(String key, List<String> dflt) throws FormatException {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isArray()) throw bad(key, n, "a list of strings");
            List<String> out = new ArrayList<>();
            for (JsonNode e : n) {
                if (!e.isTextual()) throw bad(key, n, "a list of strings");
                out.add(e.asText());
            }
            return out;
        }

        int[] optInts(String key, int[] dflt) throws FormatException {
            JsonNode n = get(key);
            if (n == null) return dflt;
            if (!n.isArray() || n.size() == 0) throw bad(key, n, "a non-empty list of integers");
            int[] out = new int[n.size()];
            for (int i = 0; i < out.length; i++) {
                if (!n.get(i).isIntegralNumber() || n.get(i).asInt() < 1) throw bad(key, n, "a list of positive integers");
                out[i] = n.get(i).asInt();
            }
            return out;
        }

        void rejectUnknown() throws FormatException {
            Iterator<Map.Entry<String, JsonNode>> it = root.fields();
            while (it.hasNext()) {
                String k = it.next().getKey();
                if (k.startsWith("_") || seen.contains(k)) continue;
                throw new FormatException(file, "key '" + k + "' is not a UNet2DModel field that tfmq supports");
            }
        }
    }
}
