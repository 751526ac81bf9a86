package dev.tfmq.strategies.recipe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.SafeTensors;
import dev.tfmq.model.unet.ResnetBlock2D;
import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.bias.BiasOffsets;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.ActivationSite;
import dev.tfmq.strategies.quant.ActivationTable;
import dev.tfmq.strategies.quant.CodePacking;
import dev.tfmq.strategies.quant.QuantGrid;
import dev.tfmq.strategies.quant.TimestepContext;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.quant.WeightQuantizer;
import dev.tfmq.strategies.temporal.MaintenanceStrategy;
import dev.tfmq.strategies.temporal.SelectionTable;
import dev.tfmq.strategies.temporal.SelectiveTemporalSource;
import dev.tfmq.strategies.temporal.TemporalFeatureCache;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The deployable result of a quantization run, one safetensors file (written atomically):
 * <ul>
 *   <li>{@code w/<layer>/codes} packed integer weights (U8; 4-bit codes two per byte, 8-bit one per byte),
 *       {@code w/<layer>/scale} (F64, per output channel), {@code w/<layer>/zero} (I32);</li>
 *   <li>{@code a/<site>/t}, {@code /scale}, {@code /zero}: each activation quantizer's table, one row per
 *       time-step (t = −1 for a grid shared by all time-steps);</li>
 *   <li>{@code c/t} and {@code c/<member>/codes|scale|zero}: the temporal-feature cache;</li>
 *   <li>{@code bc/<layer>} (F64, per output channel): the bias correction δ; the layer runs with bias b_fp − δ;</li>
 *   <li>metadata: format, recipe (HOCON), selection table (with its measure and, selected by the output error, each
 *       time-step's decision and both candidates' mean ε̂ error), site kinds, provenance (model SHA-256 over its
 *       parameters, seeds, schedule, timings, versions).</li>
 * </ul>
 * Reading it onto the same full-precision model rebuilds every fake-quantized weight and activation grid from the
 * stored integers and scales, the same arithmetic the quantizer used, so outputs are bit-identical.
 */
public final class QuantizationArtifact {
    public static final String FORMAT = "tfmq-quantized/1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BIAS_PREFIX = "bc/";
    /** Provenance key of the data checksum an artifact was verified against on load. */
    public static final String DATA_SHA256 = "data_sha256";

    private QuantizationArtifact() {}

    /** Writes the artifact; returns its size in bytes. */
    public static long write(Path file, QuantizedModel qm) throws IOException {
        Map<String, INDArray> t = new LinkedHashMap<>();
        ObjectNode layers = JSON.createObjectNode();
        for (WeightQuantizer q : qm.weights().quantizers().values()) {
            QuantGrid g = q.grid();
            t.put("w/" + q.path() + "/codes", bytes(CodePacking.pack(q.codes(), g.bits())));
            t.put("w/" + q.path() + "/scale", Nd4j.createFromArray(g.scales()));
            t.put("w/" + q.path() + "/zero", Nd4j.createFromArray(g.zeroPoints()));
            ObjectNode l = layers.putObject(q.path());
            l.put("bits", g.bits());
            var shape = l.putArray("shape");
            for (long d : q.shape()) shape.add(d);
        }
        ObjectNode sites = JSON.createObjectNode();
        if (qm.activations() != null) {
            for (ActivationSite s : qm.activations().sites().values()) {
                ActivationTable tab = s.table();
                if (tab.isEmpty()) throw new IllegalStateException("activation site '" + s.key() + "' is not calibrated");
                long[] ts = tab.isPerStep() ? tab.timesteps() : new long[] {-1};
                double[] sc = new double[ts.length];
                int[] zp = new int[ts.length];
                for (int i = 0; i < ts.length; i++) {
                    QuantGrid g = tab.isPerStep() ? tab.perStep().get(ts[i]) : tab.shared();
                    sc[i] = g.scale(0);
                    zp[i] = g.zeroPoint(0);
                }
                t.put("a/" + s.key() + "/t", Nd4j.createFromArray(ts));
                t.put("a/" + s.key() + "/scale", Nd4j.createFromArray(sc));
                t.put("a/" + s.key() + "/zero", Nd4j.createFromArray(zp));
                ObjectNode o = sites.putObject(s.key());
                o.put("kind", s.kind().name());
                o.put("temporal", s.temporal());
                o.put("bits", s.bits());
            }
        }
        TemporalFeatureCache cache = qm.cache();
        if (cache != null) {
            long[] ts = cache.timesteps();
            t.put("c/t", Nd4j.createFromArray(ts));
            for (String m : cache.members()) {
                int len = CodePacking.packedLength(cache.dim(m), cache.bits());
                byte[] all = new byte[len * ts.length];
                float[] sc = new float[ts.length];
                int[] zp = new int[ts.length];
                for (int i = 0; i < ts.length; i++) {
                    TemporalFeatureCache.Entry e = cache.entry(ts[i], m);
                    System.arraycopy(CodePacking.pack(e.codes(), cache.bits()), 0, all, i * len, len);
                    sc[i] = e.scale();
                    zp[i] = e.zeroPoint();
                }
                t.put("c/" + m + "/codes", bytes(all).reshape(ts.length, len));
                t.put("c/" + m + "/scale", Nd4j.createFromArray(sc));
                t.put("c/" + m + "/zero", Nd4j.createFromArray(zp));
            }
        }
        if (qm.biasOffsets() != null) {
            qm.biasOffsets().offsets().forEach((layer, delta) -> t.put(BIAS_PREFIX + layer, Nd4j.createFromArray(delta)));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("recipe", qm.provenance().getOrDefault("recipe", "{}"));
        meta.put("layers", layers.toString());
        meta.put("sites", sites.toString());
        if (cache != null) meta.put("cache", JSON.createObjectNode().put("bits", cache.bits()).put("uncached", cache.uncachedPolicy().name()).toString());
        if (qm.selection() != null) meta.put("selection", selectionJson(qm.selection()).toString());
        ObjectNode prov = JSON.createObjectNode();
        qm.provenance().forEach((k, v) -> { if (!k.equals("recipe")) prov.put(k, v); });
        prov.put("tfmq_format", FORMAT);
        prov.put("java", System.getProperty("java.version"));
        String nd4j = Nd4j.class.getPackage().getImplementationVersion();
        prov.put("nd4j", nd4j == null ? "1.0.0-M2.1" : nd4j);
        meta.put("provenance", prov.toString());
        SafeTensors.writeChecksummed(file, t, meta);
        return Files.size(file);
    }

    /** Full-precision float32 size of the model's parameters (what a float32 checkpoint stores). */
    public static long fp32Bytes(UNet2DModel model) { return 4 * model.parameterCount(); }

    /**
     * Rebuilds the quantized model on {@code fp} (a freshly loaded full-precision model, which it takes over).
     * Fails when the model is not the one the artifact was made from.
     */
    public static QuantizedModel read(Path file, UNet2DModel fp) throws IOException {
        SafeTensors st = SafeTensors.read(file);
        Map<String, String> meta = st.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new FormatException(file, "format '" + meta.get("format") + "' is not " + FORMAT);
        }
        JsonNode prov = json(file, meta, "provenance");
        String want = prov.path("model_sha256").asText("");
        String have = ModelChecksum.sha256(fp);
        if (!want.equals(have)) {
            throw new FormatException(file, "was made from the model with parameter SHA-256 " + want
                    + ", but the given model's is " + have);
        }
        QuantizationRecipe recipe;
        try {
            recipe = QuantizationRecipe.fromConfig(ConfigFactory.parseString(meta.getOrDefault("recipe", "")));
        } catch (RuntimeException e) {
            throw new FormatException(file, "stored recipe is invalid: " + e.getMessage());
        }
        WeightQuantization wq = new WeightQuantization(fp, recipe.layers(), recipe.bits().weight());
        JsonNode layers = json(file, meta, "layers");
        for (Iterator<String> it = layers.fieldNames(); it.hasNext(); ) {
            String p = it.next();
            if (!wq.contains(p)) throw new FormatException(file, "stores layer '" + p + "' that the recipe does not quantize");
        }
        for (WeightQuantizer q : wq.quantizers().values()) {
            JsonNode l = layers.get(q.path());
            if (l == null) throw new FormatException(file, "has no weights for quantized layer '" + q.path() + "'");
            int bits = l.path("bits").asInt(-1);
            double[] sc = get(st, file, "w/" + q.path() + "/scale").toDoubleVector();
            int[] zp = get(st, file, "w/" + q.path() + "/zero").toIntVector();
            int n = 1;
            for (long d : q.shape()) n *= (int) d;
            try {
                q.set(new QuantGrid(bits, sc, zp), CodePacking.unpack(bytesOf(get(st, file, "w/" + q.path() + "/codes")), bits, n));
            } catch (IllegalArgumentException e) {
                throw new FormatException(file, "layer '" + q.path() + "': " + e.getMessage());
            }
        }
        TimestepContext ctx = new TimestepContext();
        ActivationQuantization aq = null;
        if (recipe.bits().quantizesActivations()) {
            aq = new ActivationQuantization(fp, recipe.layers(), recipe.bits(), ctx, recipe.activation().unknownTimestep());
            for (ActivationSite s : aq.sites().values()) {
                long[] ts = get(st, file, "a/" + s.key() + "/t").toLongVector();
                double[] sc = get(st, file, "a/" + s.key() + "/scale").toDoubleVector();
                int[] zp = get(st, file, "a/" + s.key() + "/zero").toIntVector();
                if (ts.length != sc.length || ts.length != zp.length || ts.length == 0) {
                    throw new FormatException(file, "activation table of '" + s.key() + "' has mismatched lengths");
                }
                for (int i = 0; i < ts.length; i++) {
                    QuantGrid g = QuantGrid.perTensor(s.bits(), sc[i], zp[i]);
                    if (ts.length == 1 && ts[0] == -1) s.table().setShared(g);
                    else s.table().setStep(ts[i], g);
                }
            }
        }
        TemporalFeatureCache cache = null;
        if (meta.containsKey("cache")) {
            JsonNode c = json(file, meta, "cache");
            Map<String, Integer> dims = new LinkedHashMap<>();
            for (ResnetBlock2D r : fp.resnets()) dims.put(r.timeEmbProj().path(), (int) r.timeEmbProj().outFeatures());
            int bits = c.path("bits").asInt(-1);
            TemporalFeatureCache.Uncached policy;
            try {
                policy = TemporalFeatureCache.Uncached.valueOf(c.path("uncached").asText(""));
            } catch (IllegalArgumentException e) {
                throw new FormatException(file, "cache policy '" + c.path("uncached").asText("") + "' is not FAIL or FALLBACK");
            }
            cache = new TemporalFeatureCache(new java.util.ArrayList<>(dims.keySet()), dims, bits, policy);
            long[] ts = get(st, file, "c/t").toLongVector();
            for (String m : cache.members()) {
                INDArray codes = get(st, file, "c/" + m + "/codes");
                float[] sc = get(st, file, "c/" + m + "/scale").toFloatVector();
                int[] zp = get(st, file, "c/" + m + "/zero").toIntVector();
                byte[] all = bytesOf(codes);
                int len = CodePacking.packedLength(dims.get(m), bits);
                if (all.length != len * ts.length) throw new FormatException(file, "cache codes of '" + m + "' have the wrong size");
                for (int i = 0; i < ts.length; i++) {
                    byte[] one = java.util.Arrays.copyOfRange(all, i * len, (i + 1) * len);
                    cache.putCodes(ts[i], m, CodePacking.unpack(one, bits, dims.get(m)), sc[i], zp[i]);
                }
            }
        }
        SelectionTable selection = meta.containsKey("selection") ? parseSelection(file, json(file, meta, "selection")) : null;
        TemporalFeatureSource source = switch (recipe.temporal().strategy()) {
            case TIB -> null;
            case CACHE -> require(file, cache, "cache");
            case SELECTION -> new SelectiveTemporalSource(require(file, cache, "cache"), require(file, selection, "selection"));
        };
        BiasOffsets biases = readBiasOffsets(file, st, fp, recipe, meta.getOrDefault("recipe", ""));
        QuantizedModel qm = new QuantizedModel(fp, ctx, wq, aq, cache, selection, source, biases);
        prov.fields().forEachRemaining(e -> qm.provenance().put(e.getKey(), e.getValue().asText()));
        qm.provenance().put("recipe", meta.get("recipe"));
        // verified by SafeTensors.read; absent in artifacts written before checksums
        if (st.checksummed()) qm.provenance().put(DATA_SHA256, meta.get(SafeTensors.DATA_SHA256));
        return qm;
    }

    /**
     * The stored bias offsets, read against the FP biases of {@code fp} (still untouched). A recipe that names
     * {@code bias-correction} must agree with what is stored; one written before the key existed has none.
     */
    private static BiasOffsets readBiasOffsets(Path file, SafeTensors st, UNet2DModel fp, QuantizationRecipe recipe,
                                               String recipeText) throws FormatException {
        BiasOffsets biases = new BiasOffsets(fp);
        for (Map.Entry<String, INDArray> e : st.tensors().entrySet()) {
            if (!e.getKey().startsWith(BIAS_PREFIX)) continue;
            String layer = e.getKey().substring(BIAS_PREFIX.length());
            if (!fp.modules().containsKey(layer)) throw new FormatException(file, "bias correction of unknown layer '" + layer + "'");
            try {
                biases.set(layer, e.getValue().toDoubleVector());
            } catch (IllegalArgumentException ex) {
                throw new FormatException(file, "bias correction: " + ex.getMessage());
            }
        }
        boolean named = ConfigFactory.parseString(recipeText).hasPath("bias-correction");
        if (named && recipe.biasCorrection().enabled() == biases.isEmpty()) {
            throw new FormatException(file, "the recipe has bias correction " + (recipe.biasCorrection().enabled() ? "on" : "off")
                    + ", but the artifact stores " + (biases.isEmpty() ? "no bias offsets" : "bias offsets"));
        }
        return biases;
    }

    private static <T> T require(Path file, T v, String what) throws FormatException {
        if (v == null) throw new FormatException(file, "the recipe's temporal strategy needs the " + what + ", which is missing");
        return v;
    }

    private static INDArray get(SafeTensors st, Path file, String key) throws FormatException {
        INDArray a = st.tensors().get(key);
        if (a == null) throw new FormatException(file, "missing tensor '" + key + "'");
        return a;
    }

    private static JsonNode json(Path file, Map<String, String> meta, String key) throws FormatException {
        String s = meta.get(key);
        if (s == null) throw new FormatException(file, "missing metadata '" + key + "'");
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new FormatException(file, "metadata '" + key + "' is not valid JSON");
        }
    }

    static ObjectNode selectionJson(SelectionTable t) {
        ObjectNode o = JSON.createObjectNode();
        o.put("granularity", t.granularity().name());
        o.put("metric", t.metric().name());
        // added with the output measure; an artifact without it was selected by feature distance
        o.put("measure", t.measure().name());
        ObjectNode pm = o.putObject("member");
        t.perMember().forEach((m, c) -> choice(pm.putObject(m), c));
        ObjectNode ps = o.putObject("member_step");
        t.perStep().forEach((m, steps) -> {
            ObjectNode mo = ps.putObject(m);
            steps.forEach((ts, c) -> choice(mo.putObject(Long.toString(ts)), c));
        });
        if (t.granularity() == SelectionTable.Granularity.STEP) {
            ObjectNode st = o.putObject("step");
            t.perTimestep().forEach((ts, c) -> choice(st.putObject(Long.toString(ts)), c));
        }
        return o;
    }

    private static void choice(ObjectNode o, SelectionTable.Choice c) {
        o.put("strategy", c.strategy().name());
        o.put("tib", c.tib());
        o.put("cache", c.cache());
    }

    static SelectionTable parseSelection(Path file, JsonNode o) throws FormatException {
        try {
            SelectionTable t = new SelectionTable(SelectionTable.Granularity.valueOf(o.path("granularity").asText()),
                    dev.tfmq.strategies.temporal.DisturbanceMetric.valueOf(o.path("metric").asText()),
                    dev.tfmq.strategies.temporal.SelectionMeasure.valueOf(o.path("measure").asText("FEATURE")));
            for (Iterator<Map.Entry<String, JsonNode>> it = o.path("member").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                t.put(e.getKey(), choice(e.getValue()));
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = o.path("member_step").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                for (Iterator<Map.Entry<String, JsonNode>> s = e.getValue().fields(); s.hasNext(); ) {
                    Map.Entry<String, JsonNode> st = s.next();
                    t.put(e.getKey(), Long.parseLong(st.getKey()), choice(st.getValue()));
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = o.path("step").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                t.put(Long.parseLong(e.getKey()), choice(e.getValue()));
            }
            if (t.granularity() == SelectionTable.Granularity.STEP && t.perTimestep().isEmpty()) {
                throw new IllegalArgumentException("a per-time-step table without decisions");
            }
            return t;
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new FormatException(file, "selection table is malformed: " + e.getMessage());
        }
    }

    private static SelectionTable.Choice choice(JsonNode n) {
        return new SelectionTable.Choice(MaintenanceStrategy.valueOf(n.path("strategy").asText()),
                n.path("tib").asDouble(), n.path("cache").asDouble());
    }

    static INDArray bytes(byte[] b) {
        INDArray a = Nd4j.create(DataType.UBYTE, b.length);
        ByteBuffer buf = a.data().asNio();
        buf.put(b);
        return a;
    }

    static byte[] bytesOf(INDArray a) {
        INDArray c = a.dup('c');
        ByteBuffer buf = c.data().asNio();
        byte[] b = new byte[(int) c.length()];
        buf.position(0);
        buf.get(b);
        return b;
    }
}
