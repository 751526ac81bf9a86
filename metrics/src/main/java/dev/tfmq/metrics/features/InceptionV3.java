package dev.tfmq.metrics.features;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.SafeTensors;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Inception-v3 as used for FID by pytorch-fid (the port of TensorFlow's 2015-12-05 graph), running on weights the
 * user converts once with {@code tools/metrics_convert_inception.py} (batch norm folded into the convolutions).
 *
 * <p>Exact preprocessing: images [B, C, H, W] in [0, 1], C = 1 (replicated to RGB) or 3; resized to 299×299 with
 * {@link Resize#bilinear} (identical to pytorch-fid's bilinear, align_corners=False, when upsampling; antialiased
 * when downsampling); x ← 2x − 1.
 *
 * <p>Outputs: pooled = global average of Mixed_7c (2048-d, "pool3"); logits = fc (1008 classes, Inception Score);
 * spatial = output of Mixed_6d's 1×1 branch (TensorFlow's {@code mixed_6/conv}, 17×17×192, after ReLU), its first
 * 7 channels flattened in (H, W, C) order (2023-d) — the layout of the ADM evaluator's sFID features, so its
 * reference batches ({@code mu_s}, {@code sigma_s}) can be used.
 *
 * <p>Differences from torchvision's Inception-v3, as in pytorch-fid: average pools in the A, C and E_1 blocks
 * exclude padding from the count; Mixed_7c's pool branch uses a 3×3 max pool; 1008 classes.
 *
 * <p>Keeps no state between calls: {@link #extract} allocates its activations per call (the ~5.7 GFLOP per image
 * dominate; allocation is noise here), so one instance may serve several threads.
 */
public final class InceptionV3 implements FeatureExtractor {
    public static final String CLASS_NAME = "InceptionV3FID";
    public static final int VERSION = 1;
    public static final int SIZE = 299;
    public static final int SPATIAL_CHANNELS = 7;

    private final Map<String, INDArray> weight = new HashMap<>();
    private final Map<String, INDArray> bias = new HashMap<>();
    private final INDArray fcWeightT;
    private final INDArray fcBias;

    private InceptionV3(SafeTensors st) throws FormatException {
        for (Object[] c : ARCHITECTURE) {
            String name = (String) c[0];
            long[] shape = {(int) c[2], (int) c[1], (int) c[3], (int) c[4]};
            INDArray w = st.get(name + ".weight");
            if (!Arrays.equals(w.shape(), shape)) {
                throw new FormatException(st.file(), "tensor '" + name + ".weight' has shape " + Arrays.toString(w.shape())
                        + ", Inception-v3 needs " + Arrays.toString(shape));
            }
            INDArray b = st.get(name + ".bias");
            if (!Arrays.equals(b.shape(), new long[] {shape[0]})) {
                throw new FormatException(st.file(), "tensor '" + name + ".bias' has shape " + Arrays.toString(b.shape())
                        + ", needs [" + shape[0] + "] (were the weights converted with tools/metrics_convert_inception.py?)");
            }
            weight.put(name, w.castTo(DataType.FLOAT));
            bias.put(name, b.castTo(DataType.FLOAT));
        }
        INDArray fw = st.get("fc.weight");
        if (!Arrays.equals(fw.shape(), new long[] {1008, 2048})) {
            throw new FormatException(st.file(), "tensor 'fc.weight' has shape " + Arrays.toString(fw.shape()) + ", needs [1008, 2048]");
        }
        fcWeightT = fw.castTo(DataType.FLOAT).transpose().dup('c');
        fcBias = st.get("fc.bias").castTo(DataType.FLOAT).reshape(1, 1008);
    }

    /** Loads {@code dir/config.json} and {@code dir/model.safetensors} written by the conversion script. */
    public static InceptionV3 load(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile)) {
            throw new java.io.FileNotFoundException(cfgFile + " not found: convert the pytorch-fid weights with "
                    + "tools/metrics_convert_inception.py first");
        }
        JsonNode cfg = new ObjectMapper().readTree(cfgFile.toFile());
        JsonNode cls = cfg.get("_class_name");
        if (cls == null || !CLASS_NAME.equals(cls.asText())) {
            throw new FormatException(cfgFile, "_class_name is " + cls + ", this loader reads '" + CLASS_NAME + "'");
        }
        JsonNode version = cfg.get("version");
        if (version == null || version.asInt() != VERSION) {
            throw new FormatException(cfgFile, "version " + version + " is not supported (supported: " + VERSION + ")");
        }
        return new InceptionV3(SafeTensors.read(dir.resolve("model.safetensors")));
    }

    @Override public String name() { return "inception"; }

    @Override public int pooledDim() { return 2048; }

    @Override public int spatialDim() { return 17 * 17 * SPATIAL_CHANNELS; }

    @Override public int numClasses() { return 1008; }

    @Override
    public Features extract(INDArray images) {
        if (images.rank() != 4 || (images.size(1) != 1 && images.size(1) != 3)) {
            throw new IllegalArgumentException("expected images [B, 1 or 3, H, W], got " + Arrays.toString(images.shape()));
        }
        INDArray x = Resize.bilinear(images, SIZE, SIZE);
        if (x.size(1) == 1) x = Nd4j.concat(1, x, x, x);
        x.muli(2f).subi(1f);
        x = conv(x, "Conv2d_1a_3x3", 2, 0, 0);
        x = conv(x, "Conv2d_2a_3x3", 1, 0, 0);
        x = conv(x, "Conv2d_2b_3x3", 1, 1, 1);
        x = maxPool(x, 2, 0);
        x = conv(x, "Conv2d_3b_1x1", 1, 0, 0);
        x = conv(x, "Conv2d_4a_3x3", 1, 0, 0);
        x = maxPool(x, 2, 0);
        x = blockA(x, "Mixed_5b");
        x = blockA(x, "Mixed_5c");
        x = blockA(x, "Mixed_5d");
        x = blockB(x, "Mixed_6a");
        INDArray[] tap = new INDArray[1];
        x = blockC(x, "Mixed_6b", null);
        x = blockC(x, "Mixed_6c", null);
        x = blockC(x, "Mixed_6d", tap);
        x = blockC(x, "Mixed_6e", null);
        x = blockD(x, "Mixed_7a");
        x = blockE(x, "Mixed_7b", false);
        x = blockE(x, "Mixed_7c", true);
        INDArray pooled = x.mean(2, 3);
        INDArray logits = pooled.mmul(fcWeightT).addiRowVector(fcBias);
        long b = x.size(0);
        INDArray spatial = tap[0].get(NDArrayIndex.all(), NDArrayIndex.interval(0, SPATIAL_CHANNELS), NDArrayIndex.all(),
                NDArrayIndex.all()).permute(0, 2, 3, 1).dup('c').reshape(b, spatialDim());
        return new Features(pooled, spatial, logits);
    }

    private INDArray blockA(INDArray x, String n) {
        INDArray b1 = conv(x, n + ".branch1x1", 1, 0, 0);
        INDArray b5 = conv(conv(x, n + ".branch5x5_1", 1, 0, 0), n + ".branch5x5_2", 1, 2, 2);
        INDArray b3 = conv(conv(conv(x, n + ".branch3x3dbl_1", 1, 0, 0), n + ".branch3x3dbl_2", 1, 1, 1),
                n + ".branch3x3dbl_3", 1, 1, 1);
        INDArray bp = conv(avgPoolExcludingPadding(x), n + ".branch_pool", 1, 0, 0);
        return Nd4j.concat(1, b1, b5, b3, bp);
    }

    private INDArray blockB(INDArray x, String n) {
        INDArray b3 = conv(x, n + ".branch3x3", 2, 0, 0);
        INDArray bd = conv(conv(conv(x, n + ".branch3x3dbl_1", 1, 0, 0), n + ".branch3x3dbl_2", 1, 1, 1),
                n + ".branch3x3dbl_3", 2, 0, 0);
        return Nd4j.concat(1, b3, bd, maxPool(x, 2, 0));
    }

    private INDArray blockC(INDArray x, String n, INDArray[] tap) {
        INDArray b1 = conv(x, n + ".branch1x1", 1, 0, 0);
        if (tap != null) tap[0] = b1;
        INDArray b7 = conv(conv(conv(x, n + ".branch7x7_1", 1, 0, 0), n + ".branch7x7_2", 1, 0, 3),
                n + ".branch7x7_3", 1, 3, 0);
        INDArray bd = conv(x, n + ".branch7x7dbl_1", 1, 0, 0);
        bd = conv(bd, n + ".branch7x7dbl_2", 1, 3, 0);
        bd = conv(bd, n + ".branch7x7dbl_3", 1, 0, 3);
        bd = conv(bd, n + ".branch7x7dbl_4", 1, 3, 0);
        bd = conv(bd, n + ".branch7x7dbl_5", 1, 0, 3);
        INDArray bp = conv(avgPoolExcludingPadding(x), n + ".branch_pool", 1, 0, 0);
        return Nd4j.concat(1, b1, b7, bd, bp);
    }

    private INDArray blockD(INDArray x, String n) {
        INDArray b3 = conv(conv(x, n + ".branch3x3_1", 1, 0, 0), n + ".branch3x3_2", 2, 0, 0);
        INDArray b7 = conv(x, n + ".branch7x7x3_1", 1, 0, 0);
        b7 = conv(b7, n + ".branch7x7x3_2", 1, 0, 3);
        b7 = conv(b7, n + ".branch7x7x3_3", 1, 3, 0);
        b7 = conv(b7, n + ".branch7x7x3_4", 2, 0, 0);
        return Nd4j.concat(1, b3, b7, maxPool(x, 2, 0));
    }

    private INDArray blockE(INDArray x, String n, boolean maxPoolBranch) {
        INDArray b1 = conv(x, n + ".branch1x1", 1, 0, 0);
        INDArray t = conv(x, n + ".branch3x3_1", 1, 0, 0);
        INDArray b3 = Nd4j.concat(1, conv(t, n + ".branch3x3_2a", 1, 0, 1), conv(t, n + ".branch3x3_2b", 1, 1, 0));
        INDArray u = conv(conv(x, n + ".branch3x3dbl_1", 1, 0, 0), n + ".branch3x3dbl_2", 1, 1, 1);
        INDArray bd = Nd4j.concat(1, conv(u, n + ".branch3x3dbl_3a", 1, 0, 1), conv(u, n + ".branch3x3dbl_3b", 1, 1, 0));
        INDArray p = maxPoolBranch ? maxPool(x, 1, 1) : avgPoolExcludingPadding(x);
        INDArray bp = conv(p, n + ".branch_pool", 1, 0, 0);
        return Nd4j.concat(1, b1, b3, bd, bp);
    }

    /** Convolution (BN folded: with bias) + ReLU. */
    private INDArray conv(INDArray x, String name, int stride, int padH, int padW) {
        INDArray w = weight.get(name);
        int kh = (int) w.size(2);
        int kw = (int) w.size(3);
        long oh = (x.size(2) + 2L * padH - kh) / stride + 1;
        long ow = (x.size(3) + 2L * padW - kw) / stride + 1;
        INDArray out = Nd4j.create(DataType.FLOAT, x.size(0), w.size(0), oh, ow);
        Conv2DConfig cfg = Conv2DConfig.builder().kH(kh).kW(kw).sH(stride).sW(stride).pH(padH).pW(padW).dH(1).dW(1)
                .paddingMode(PaddingMode.VALID).dataFormat("NCHW").weightsFormat(WeightsFormat.OIYX).build();
        Nd4j.exec(new Conv2D(new INDArray[] {x, w, bias.get(name)}, new INDArray[] {out}, cfg));
        Nd4j.exec(new RectifiedLinear(out, out, 0.0));
        return out;
    }

    /** 3×3 max pool with the given stride and padding (padding never wins the max). */
    private static INDArray maxPool(INDArray x, int stride, int pad) {
        long oh = (x.size(2) + 2L * pad - 3) / stride + 1;
        long ow = (x.size(3) + 2L * pad - 3) / stride + 1;
        INDArray out = Nd4j.create(DataType.FLOAT, x.size(0), x.size(1), oh, ow);
        Pooling2DConfig cfg = Pooling2DConfig.builder().kH(3).kW(3).sH(stride).sW(stride).pH(pad).pW(pad).dH(1).dW(1)
                .paddingMode(PaddingMode.VALID).isNHWC(false).build();
        Nd4j.exec(new MaxPooling2D(x, out, cfg));
        return out;
    }

    /** 3×3 average pool, stride 1, padding 1, dividing by the number of real (non-padding) pixels. */
    private static INDArray avgPoolExcludingPadding(INDArray x) {
        INDArray out = Nd4j.create(DataType.FLOAT, x.shape());
        Pooling2DConfig cfg = Pooling2DConfig.builder().kH(3).kW(3).sH(1).sW(1).pH(1).pW(1).dH(1).dW(1)
                .paddingMode(PaddingMode.VALID).divisor(Pooling2D.Divisor.EXCLUDE_PADDING).isNHWC(false).build();
        Nd4j.exec(new AvgPooling2D(x, out, cfg));
        return out;
    }

    /** Every convolution: name, in, out, kh, kw (weights [out, in, kh, kw] after folding). */
    static final Object[][] ARCHITECTURE = buildArchitecture();

    private static Object[][] buildArchitecture() {
        java.util.List<Object[]> a = new java.util.ArrayList<>();
        java.util.function.BiConsumer<String, int[]> add = (n, s) -> a.add(new Object[] {n, s[0], s[1], s[2], s[3]});
        add.accept("Conv2d_1a_3x3", new int[] {3, 32, 3, 3});
        add.accept("Conv2d_2a_3x3", new int[] {32, 32, 3, 3});
        add.accept("Conv2d_2b_3x3", new int[] {32, 64, 3, 3});
        add.accept("Conv2d_3b_1x1", new int[] {64, 80, 1, 1});
        add.accept("Conv2d_4a_3x3", new int[] {80, 192, 3, 3});
        int[][] aBlocks = {{192, 32}, {256, 64}, {288, 64}};
        String[] aNames = {"Mixed_5b", "Mixed_5c", "Mixed_5d"};
        for (int i = 0; i < 3; i++) {
            String n = aNames[i];
            int in = aBlocks[i][0];
            add.accept(n + ".branch1x1", new int[] {in, 64, 1, 1});
            add.accept(n + ".branch5x5_1", new int[] {in, 48, 1, 1});
            add.accept(n + ".branch5x5_2", new int[] {48, 64, 5, 5});
            add.accept(n + ".branch3x3dbl_1", new int[] {in, 64, 1, 1});
            add.accept(n + ".branch3x3dbl_2", new int[] {64, 96, 3, 3});
            add.accept(n + ".branch3x3dbl_3", new int[] {96, 96, 3, 3});
            add.accept(n + ".branch_pool", new int[] {in, aBlocks[i][1], 1, 1});
        }
        add.accept("Mixed_6a.branch3x3", new int[] {288, 384, 3, 3});
        add.accept("Mixed_6a.branch3x3dbl_1", new int[] {288, 64, 1, 1});
        add.accept("Mixed_6a.branch3x3dbl_2", new int[] {64, 96, 3, 3});
        add.accept("Mixed_6a.branch3x3dbl_3", new int[] {96, 96, 3, 3});
        String[] cNames = {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"};
        int[] c7s = {128, 160, 160, 192};
        for (int i = 0; i < 4; i++) {
            String n = cNames[i];
            int c7 = c7s[i];
            add.accept(n + ".branch1x1", new int[] {768, 192, 1, 1});
            add.accept(n + ".branch7x7_1", new int[] {768, c7, 1, 1});
            add.accept(n + ".branch7x7_2", new int[] {c7, c7, 1, 7});
            add.accept(n + ".branch7x7_3", new int[] {c7, 192, 7, 1});
            add.accept(n + ".branch7x7dbl_1", new int[] {768, c7, 1, 1});
            add.accept(n + ".branch7x7dbl_2", new int[] {c7, c7, 7, 1});
            add.accept(n + ".branch7x7dbl_3", new int[] {c7, c7, 1, 7});
            add.accept(n + ".branch7x7dbl_4", new int[] {c7, c7, 7, 1});
            add.accept(n + ".branch7x7dbl_5", new int[] {c7, 192, 1, 7});
            add.accept(n + ".branch_pool", new int[] {768, 192, 1, 1});
        }
        add.accept("Mixed_7a.branch3x3_1", new int[] {768, 192, 1, 1});
        add.accept("Mixed_7a.branch3x3_2", new int[] {192, 320, 3, 3});
        add.accept("Mixed_7a.branch7x7x3_1", new int[] {768, 192, 1, 1});
        add.accept("Mixed_7a.branch7x7x3_2", new int[] {192, 192, 1, 7});
        add.accept("Mixed_7a.branch7x7x3_3", new int[] {192, 192, 7, 1});
        add.accept("Mixed_7a.branch7x7x3_4", new int[] {192, 192, 3, 3});
        String[] eNames = {"Mixed_7b", "Mixed_7c"};
        int[] eIn = {1280, 2048};
        for (int i = 0; i < 2; i++) {
            String n = eNames[i];
            int in = eIn[i];
            add.accept(n + ".branch1x1", new int[] {in, 320, 1, 1});
            add.accept(n + ".branch3x3_1", new int[] {in, 384, 1, 1});
            add.accept(n + ".branch3x3_2a", new int[] {384, 384, 1, 3});
            add.accept(n + ".branch3x3_2b", new int[] {384, 384, 3, 1});
            add.accept(n + ".branch3x3dbl_1", new int[] {in, 448, 1, 1});
            add.accept(n + ".branch3x3dbl_2", new int[] {448, 384, 3, 3});
            add.accept(n + ".branch3x3dbl_3a", new int[] {384, 384, 1, 3});
            add.accept(n + ".branch3x3dbl_3b", new int[] {384, 384, 3, 1});
            add.accept(n + ".branch_pool", new int[] {in, 192, 1, 1});
        }
        return a.toArray(new Object[0][]);
    }
}
