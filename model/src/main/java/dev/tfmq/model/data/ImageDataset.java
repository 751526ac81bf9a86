package dev.tfmq.model.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Images as unsigned 8-bit values in N×C×H×W order (C = 1 gray or 3 RGB), with optional integer labels. Batches are
 * converted to float [B, C, H, W] on demand, into a caller's preallocated array.
 */
public final class ImageDataset {
    private final byte[] pixels;
    private final int n, c, h, w;
    private final int[] labels;
    private final String source;

    /**
     * @param pixels N·C·H·W unsigned bytes (not copied)
     * @param labels N labels or null
     * @param source where the data came from, for messages
     */
    public ImageDataset(byte[] pixels, int n, int c, int h, int w, int[] labels, String source) {
        if (n < 0 || c < 1 || h < 1 || w < 1) {
            throw new IllegalArgumentException("bad dataset shape " + n + "x" + c + "x" + h + "x" + w);
        }
        if ((long) n * c * h * w != pixels.length) {
            throw new IllegalArgumentException(pixels.length + " pixel bytes for shape " + n + "x" + c + "x" + h + "x" + w);
        }
        if (labels != null && labels.length != n) {
            throw new IllegalArgumentException(labels.length + " labels for " + n + " images");
        }
        this.pixels = pixels;
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.labels = labels;
        this.source = source;
    }

    public int size() { return n; }
    public int channels() { return c; }
    public int height() { return h; }
    public int width() { return w; }
    public String source() { return source; }
    public boolean hasLabels() { return labels != null; }

    public int label(int i) {
        if (labels == null) throw new IllegalStateException(source + " has no labels");
        return labels[i];
    }

    /** A copy of the labels, or null. */
    public int[] labels() { return labels == null ? null : labels.clone(); }

    /** Intensity 0..255 of image i, channel ch, row y, column x. */
    public int pixel(int i, int ch, int y, int x) {
        return pixels[(((i * c) + ch) * h + y) * w + x] & 0xFF;
    }

    /** A copy of one image's C·H·W bytes. */
    public byte[] imageBytes(int i) {
        int per = c * h * w;
        return Arrays.copyOfRange(pixels, i * per, (i + 1) * per);
    }

    /** Images [from, from + count) as a new dataset (labels kept). */
    public ImageDataset subset(int from, int count) {
        checkRange(from, count);
        int per = c * h * w;
        return new ImageDataset(Arrays.copyOfRange(pixels, from * per, (from + count) * per), count, c, h, w,
                labels == null ? null : Arrays.copyOfRange(labels, from, from + count), source + "[" + from + ":" + (from + count) + "]");
    }

    /**
     * Single-channel version: RGB becomes luma L = (19595·R + 38470·G + 7471·B + 32768) &gt;&gt; 16 (ITU-R 601-2, the
     * integer formula of PIL's {@code convert("L")}); a gray dataset is returned as is.
     */
    public ImageDataset toGray() {
        if (c == 1) return this;
        if (c != 3) throw new IllegalStateException("cannot convert " + c + " channels to gray");
        int plane = h * w;
        byte[] g = new byte[n * plane];
        for (int i = 0; i < n; i++) {
            int base = i * 3 * plane;
            for (int p = 0; p < plane; p++) {
                int r = pixels[base + p] & 0xFF, gg = pixels[base + plane + p] & 0xFF, b = pixels[base + 2 * plane + p] & 0xFF;
                g[i * plane + p] = (byte) luma(r, gg, b);
            }
        }
        return new ImageDataset(g, n, 1, h, w, labels, source);
    }

    static int luma(int r, int g, int b) {
        return (19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16;
    }

    /** Images [from, from + count) as a new float32 [count, C, H, W] array. */
    public INDArray toFloat(int from, int count, PixelRange range) {
        INDArray out = Nd4j.create(DataType.FLOAT, count, c, h, w);
        toFloat(from, count, range, out);
        return out;
    }

    /**
     * Writes images [from, from + count) into {@code out}, a contiguous C-order float32 or float64
     * [count, C, H, W] array (for example a batch buffer reused across batches).
     */
    public void toFloat(int from, int count, PixelRange range, INDArray out) {
        checkRange(from, count);
        long[] want = {count, c, h, w};
        if (!Arrays.equals(want, out.shape())) {
            throw new IllegalArgumentException("output shape " + Arrays.toString(out.shape()) + ", expected " + Arrays.toString(want));
        }
        if (!contiguous(out)) throw new IllegalArgumentException("output must be a contiguous C-order array");
        int per = c * h * w;
        int start = from * per;
        int len = count * per;
        int base = Math.toIntExact(out.offset());
        if (out.dataType() == DataType.FLOAT) {
            float[] lut = new float[256];
            for (int v = 0; v < 256; v++) lut[v] = (float) range.toFloat(v);
            FloatBuffer fb = out.data().asNioFloat();
            for (int i = 0; i < len; i++) fb.put(base + i, lut[pixels[start + i] & 0xFF]);
        } else if (out.dataType() == DataType.DOUBLE) {
            DoubleBuffer db = out.data().asNioDouble();
            for (int i = 0; i < len; i++) db.put(base + i, range.toFloat(pixels[start + i] & 0xFF));
        } else {
            throw new IllegalArgumentException("output must be float32 or float64, got " + out.dataType());
        }
    }

    private void checkRange(int from, int count) {
        if (from < 0 || count < 0 || from + count > n) {
            throw new IndexOutOfBoundsException("images [" + from + ", " + (from + count) + ") of " + n + " in " + source);
        }
    }

    static boolean contiguous(INDArray a) {
        return dev.tfmq.model.nn.Host.isContiguousC(a);
    }

    @Override
    public String toString() {
        return "ImageDataset{" + source + ": " + n + "x" + c + "x" + h + "x" + w + (labels != null ? ", labelled" : "") + "}";
    }
}
