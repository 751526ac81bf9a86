package dev.tfmq.metrics.features;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.SafeTensors;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The bundled {@code fmnist-features} network ("FashionFeatureNet", config version 1), a small VGG-style CNN
 * trained on Fashion-MNIST, run in float32 with ND4J.
 *
 * <p>Exact preprocessing and architecture (the PyTorch definition in tools/metrics_fmnist_features_fixture.py is
 * the reference):
 * <ol>
 *   <li>input [B, in_channels, image_size, image_size] in [0, 1], no resizing; x ← (x − mean)/std with the scalars
 *       of config {@code normalize};</li>
 *   <li>config {@code stages}, e.g. [[32,32],[64,64],[128,256]]: each entry a 3×3 convolution, stride 1,
 *       padding 1, with bias (batch norm folded in), followed by ReLU; a 2×2 max-pool with stride 2 between
 *       consecutive stages, none after the last;</li>
 *   <li>pooled = global average over H, W of the last stage ({@code pooled_dim}); logits = {@code fc} (Linear);</li>
 *   <li>spatial = output of the last convolution (after ReLU) of stage {@code spatial_tap.stage}, its first
 *       {@code spatial_tap.channels} channels flattened in (C, H, W) order.</li>
 * </ol>
 * Activations live in buffers allocated for one batch size and reused while batches keep that size. Returned
 * {@link Features} are fresh arrays, safe to keep.
 *
 * <p>Not thread-safe (shared buffers): use one instance per thread.
 */
public final class FashionFeatureNet implements FeatureExtractor {
    public static final String CLASS_NAME = "FashionFeatureNet";
    public static final int VERSION = 1;

    private final int inChannels;
    private final int imageSize;
    private final float mean;
    private final float std;
    private final int[][] stages;
    private final int tapStage;
    private final int tapChannels;
    private final int numClasses;
    private final int pooledDim;
    /** [stage][conv] weights [out, in, 3, 3] and biases [out]. */
    private final INDArray[][] weights;
    private final INDArray[][] biases;
    /** fc weight transposed to [pooled, classes] for a plain gemm, and bias [1, classes]. */
    private final INDArray fcWeightT;
    private final INDArray fcBias;
    private final Conv2DConfig conv;
    private final Pooling2DConfig pool;

    private int bufferBatch = -1;
    private INDArray input;
    private INDArray[][] activations;
    private INDArray[] pooledInputs;

    private FashionFeatureNet(JsonNode cfg, SafeTensors st, Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        String cls = text(cfg, "_class_name", cfgFile);
        if (!CLASS_NAME.equals(cls)) {
            throw new FormatException(cfgFile, "_class_name is '" + cls + "', this loader reads '" + CLASS_NAME + "'");
        }
        int version = integer(cfg, "version", cfgFile);
        if (version != VERSION) {
            throw new FormatException(cfgFile, "version " + version + " is not supported (supported: " + VERSION + ")");
        }
        inChannels = integer(cfg, "in_channels", cfgFile);
        imageSize = integer(cfg, "image_size", cfgFile);
        JsonNode norm = node(cfg, "normalize", cfgFile);
        mean = (float) number(norm, "mean", cfgFile);
        std = (float) number(norm, "std", cfgFile);
        if (!(std > 0)) throw new FormatException(cfgFile, "normalize.std must be positive");
        JsonNode st0 = node(cfg, "stages", cfgFile);
        if (!st0.isArray() || st0.size() == 0) throw new FormatException(cfgFile, "'stages' must be a non-empty array of arrays");
        stages = new int[st0.size()][];
        for (int s = 0; s < stages.length; s++) {
            JsonNode a = st0.get(s);
            if (!a.isArray() || a.size() == 0) throw new FormatException(cfgFile, "stages[" + s + "] must be a non-empty array");
            stages[s] = new int[a.size()];
            for (int i = 0; i < a.size(); i++) stages[s][i] = a.get(i).asInt();
        }
        if (imageSize % (1 << (stages.length - 1)) != 0) {
            throw new FormatException(cfgFile, "image_size " + imageSize + " is not divisible by 2^(stages-1)");
        }
        int[] last = stages[stages.length - 1];
        pooledDim = integer(cfg, "pooled_dim", cfgFile);
        if (pooledDim != last[last.length - 1]) {
            throw new FormatException(cfgFile, "pooled_dim " + pooledDim + " differs from the last stage's " + last[last.length - 1] + " channels");
        }
        JsonNode tap = node(cfg, "spatial_tap", cfgFile);
        tapStage = integer(tap, "stage", cfgFile);
        tapChannels = integer(tap, "channels", cfgFile);
        if (tapStage < 0 || tapStage >= stages.length) throw new FormatException(cfgFile, "spatial_tap.stage " + tapStage + " out of range");
        int[] tapped = stages[tapStage];
        if (tapChannels < 1 || tapChannels > tapped[tapped.length - 1]) {
            throw new FormatException(cfgFile, "spatial_tap.channels " + tapChannels + " out of range");
        }
        numClasses = integer(cfg, "num_classes", cfgFile);

        weights = new INDArray[stages.length][];
        biases = new INDArray[stages.length][];
        int c = inChannels;
        for (int s = 0; s < stages.length; s++) {
            weights[s] = new INDArray[stages[s].length];
            biases[s] = new INDArray[stages[s].length];
            for (int i = 0; i < stages[s].length; i++) {
                int out = stages[s][i];
                String key = "stages." + s + "." + i;
                weights[s][i] = tensor(st, key + ".weight", new long[] {out, c, 3, 3});
                biases[s][i] = tensor(st, key + ".bias", new long[] {out});
                c = out;
            }
        }
        fcWeightT = tensor(st, "fc.weight", new long[] {numClasses, pooledDim}).transpose().dup('c');
        fcBias = tensor(st, "fc.bias", new long[] {numClasses}).reshape(1, numClasses);
        conv = Conv2DConfig.builder().kH(3).kW(3).sH(1).sW(1).pH(1).pW(1).dH(1).dW(1)
                .paddingMode(PaddingMode.VALID).dataFormat("NCHW").weightsFormat(WeightsFormat.OIYX).build();
        pool = Pooling2DConfig.builder().kH(2).kW(2).sH(2).sW(2).pH(0).pW(0).dH(1).dW(1)
                .paddingMode(PaddingMode.VALID).isNHWC(false).build();
    }

    /** Loads {@code dir/config.json} and {@code dir/model.safetensors}. */
    public static FashionFeatureNet load(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) throw new java.io.FileNotFoundException(cfgFile + " not found");
        JsonNode cfg = new ObjectMapper().readTree(cfgFile.toFile());
        SafeTensors st = SafeTensors.read(dir.resolve("model.safetensors"));
        return new FashionFeatureNet(cfg, st, dir);
    }

    @Override public String name() { return "fmnist-features"; }

    @Override public int pooledDim() { return pooledDim; }

    @Override public int spatialDim() {
        int side = imageSize >> tapStage;
        return tapChannels * side * side;
    }

    @Override public int numClasses() { return numClasses; }

    @Override
    public Features extract(INDArray images) {
        long[] shape = images.shape();
        if (shape.length != 4 || shape[1] != inChannels || shape[2] != imageSize || shape[3] != imageSize) {
            throw new IllegalArgumentException("expected images [B, " + inChannels + ", " + imageSize + ", " + imageSize
                    + "], got " + Arrays.toString(shape));
        }
        int b = (int) shape[0];
        allocate(b);
        input.assign(images).subi(mean).divi(std);
        INDArray x = input;
        INDArray spatial = null;
        for (int s = 0; s < stages.length; s++) {
            if (s > 0) {
                Nd4j.exec(new MaxPooling2D(x, pooledInputs[s], pool));
                x = pooledInputs[s];
            }
            for (int i = 0; i < stages[s].length; i++) {
                INDArray out = activations[s][i];
                Nd4j.exec(new Conv2D(new INDArray[] {x, weights[s][i], biases[s][i]}, new INDArray[] {out}, conv));
                Nd4j.exec(new RectifiedLinear(out, out, 0.0));
                x = out;
            }
            if (s == tapStage) {
                spatial = x.get(NDArrayIndex.all(), NDArrayIndex.interval(0, tapChannels), NDArrayIndex.all(), NDArrayIndex.all())
                        .dup('c').reshape(b, (long) tapChannels * x.size(2) * x.size(3));
            }
        }
        INDArray pooled = x.mean(2, 3);
        INDArray logits = pooled.mmul(fcWeightT).addiRowVector(fcBias);
        return new Features(pooled, spatial, logits);
    }

    private void allocate(int b) {
        if (b == bufferBatch) return;
        input = Nd4j.create(DataType.FLOAT, b, inChannels, imageSize, imageSize);
        activations = new INDArray[stages.length][];
        pooledInputs = new INDArray[stages.length];
        int side = imageSize;
        for (int s = 0; s < stages.length; s++) {
            if (s > 0) {
                int prevChannels = stages[s - 1][stages[s - 1].length - 1];
                side /= 2;
                pooledInputs[s] = Nd4j.create(DataType.FLOAT, b, prevChannels, side, side);
            }
            activations[s] = new INDArray[stages[s].length];
            for (int i = 0; i < stages[s].length; i++) {
                activations[s][i] = Nd4j.create(DataType.FLOAT, b, stages[s][i], side, side);
            }
        }
        bufferBatch = b;
    }

    private static INDArray tensor(SafeTensors st, String key, long[] shape) throws FormatException {
        INDArray a = st.get(key);
        if (!Arrays.equals(a.shape(), shape)) {
            throw new FormatException(st.file(), "tensor '" + key + "' has shape " + Arrays.toString(a.shape())
                    + ", the config implies " + Arrays.toString(shape));
        }
        return a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
    }

    private static JsonNode node(JsonNode o, String key, Path file) throws FormatException {
        JsonNode v = o.get(key);
        if (v == null || v.isNull()) throw new FormatException(file, "missing key '" + key + "'");
        return v;
    }

    private static String text(JsonNode o, String key, Path file) throws FormatException {
        JsonNode v = node(o, key, file);
        if (!v.isTextual()) throw new FormatException(file, "'" + key + "' must be a string");
        return v.asText();
    }

    private static int integer(JsonNode o, String key, Path file) throws FormatException {
        JsonNode v = node(o, key, file);
        if (!v.isIntegralNumber()) throw new FormatException(file, "'" + key + "' must be an integer, got " + v);
        return v.asInt();
    }

    /** A number, or a one-element array (per-channel statistics of a single-channel net). */
    private static double number(JsonNode o, String key, Path file) throws FormatException {
        JsonNode v = node(o, key, file);
        if (v.isArray() && v.size() == 1) v = v.get(0);
        if (!v.isNumber()) throw new FormatException(file, "'" + key + "' must be a number, got " + v);
        return v.asDouble();
    }

    /** Layer widths, for reports. */
    public List<int[]> stages() {
        List<int[]> l = new ArrayList<>();
        for (int[] s : stages) l.add(s.clone());
        return l;
    }
}
