package dev.tfmq.model.data;

import dev.tfmq.model.io.AtomicFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes a batch [B, C, H, W] (C = 1 gray or 3 RGB) as one PNG grid like torchvision's {@code make_grid} +
 * {@code save_image}: min(columns, B) images per row, rows as needed, 2 pixels of black padding around and between
 * cells; pixel values per {@link PixelRange}. The file is written atomically.
 */
public final class PngGrid {
    public static final int PADDING = 2;

    private PngGrid() {}

    public static void write(Path file, INDArray batch, PixelRange range, int columns) throws IOException {
        BufferedImage img = toImage(batch, range, columns);
        writePng(file, img);
    }

    /** The grid as an image (for callers that want to compose or display it). */
    public static BufferedImage toImage(INDArray batch, PixelRange range, int columns) {
        long[] s = checkBatch(batch);
        if (columns < 1) throw new IllegalArgumentException("columns must be >= 1, got " + columns);
        int b = (int) s[0], c = (int) s[1], h = (int) s[2], w = (int) s[3];
        int cols = Math.min(columns, b);
        int rows = (b + cols - 1) / cols;
        int gw = cols * (w + PADDING) + PADDING;
        int gh = rows * (h + PADDING) + PADDING;
        BufferedImage img = new BufferedImage(gw, gh, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        double[] v = batch.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        WritableRaster r = img.getRaster();
        for (int i = 0; i < b; i++) {
            int x0 = PADDING + (i % cols) * (w + PADDING);
            int y0 = PADDING + (i / cols) * (h + PADDING);
            paint(r, v, i, c, h, w, x0, y0, range);
        }
        return img;
    }

    static void paint(WritableRaster r, double[] v, int i, int c, int h, int w, int x0, int y0, PixelRange range) {
        int plane = h * w;
        for (int ch = 0; ch < c; ch++) {
            int base = (i * c + ch) * plane;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) r.setSample(x0 + x, y0 + y, ch, range.toByte(v[base + y * w + x]));
            }
        }
    }

    static long[] checkBatch(INDArray batch) {
        long[] s = batch.shape();
        if (s.length != 4 || (s[1] != 1 && s[1] != 3) || s[0] < 1) {
            throw new IllegalArgumentException("expected a batch [B, C, H, W] with C = 1 or 3, got " + Arrays.toString(s));
        }
        return s;
    }

    static void writePng(Path file, BufferedImage img) throws IOException {
        AtomicFiles.write(file, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available for " + file);
        });
    }
}
