package dev.tfmq.model.data;

import dev.tfmq.model.io.FormatException;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads every {@code .png}, {@code .jpg} and {@code .jpeg} file (case-insensitive) directly in a folder, in
 * lexicographic order of the file names, into an {@link ImageDataset} without labels. Other files are ignored.
 * All images must have the same width and height. Gray images are read from their raster (no colour-space
 * conversion, so a gray PNG's stored values come back unchanged; 16-bit values are rounded to 8 bits, 1/2/4-bit values
 * scaled to 0..255); other images are read as sRGB; alpha is ignored.
 * {@link ColorMode#AUTO} gives one channel if every image is gray and three otherwise (gray images replicated);
 * {@link ColorMode#GRAY} converts RGB with PIL's {@code convert("L")} formula (see {@link ImageDataset#toGray()}).
 */
public final class ImageFolderReader {
    public enum ColorMode { AUTO, GRAY, RGB }

    /** The most pixels one image may declare (8192 x 8192); larger headers are refused before decoding. */
    public static final long MAX_PIXELS = 1L << 26;

    private ImageFolderReader() {}

    public static List<Path> imageFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new FormatException(dir, "not a folder");
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
            }).forEach(files::add);
        }
        files.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        return files;
    }

    public static ImageDataset read(Path dir, ColorMode mode) throws IOException {
        List<Path> files = imageFiles(dir);
        if (files.isEmpty()) throw new FormatException(dir, "no .png, .jpg or .jpeg images in this folder");
        int w = -1, h = -1;
        Path first = null;
        List<byte[]> imgs = new ArrayList<>(files.size());
        List<Boolean> gray = new ArrayList<>(files.size());
        boolean allGray = true;
        for (Path f : files) {
            BufferedImage img;
            try (ImageInputStream in = ImageIO.createImageInputStream(f.toFile())) {
                Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
                if (readers == null || !readers.hasNext()) throw new FormatException(f, "not a readable PNG or JPEG image");
                ImageReader reader = readers.next();
                try {
                    reader.setInput(in, true, true);
                    // the size from the header (PNG: IHDR), checked before any pixel is decoded or allocated
                    int iw = reader.getWidth(0), ih = reader.getHeight(0);
                    if ((long) iw * ih > MAX_PIXELS) {
                        throw new FormatException(f, "image declares " + iw + "x" + ih + " pixels, over the limit of " + MAX_PIXELS
                                + " per image");
                    }
                    if (first == null) {
                        first = f;
                        w = iw;
                        h = ih;
                        long total = (long) files.size() * 3 * w * h;
                        if (total > Integer.MAX_VALUE - 8) {
                            throw new FormatException(dir, files.size() + " images of " + w + "x" + h + " need " + total
                                    + " bytes, more than one dataset holds (" + (Integer.MAX_VALUE - 8) + ")");
                        }
                    } else if (iw != w || ih != h) {
                        throw new FormatException(f, "image is " + iw + "x" + ih + " (width x height) but "
                                + first.getFileName() + " is " + w + "x" + h + "; all images must have the same size");
                    }
                    img = reader.read(0, reader.getDefaultReadParam());
                } finally {
                    reader.dispose();
                }
            } catch (FormatException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new FormatException(f, "cannot decode image: " + e.getMessage());
            }
            boolean g = isGray(img);
            allGray &= g;
            gray.add(g);
            imgs.add(g ? grayPixels(img) : rgbPixels(img));
        }
        int c = switch (mode) {
            case GRAY -> 1;
            case RGB -> 3;
            case AUTO -> allGray ? 1 : 3;
        };
        int plane = w * h;
        byte[] px = new byte[Math.multiplyExact(Math.multiplyExact(files.size(), c), plane)];
        for (int i = 0; i < imgs.size(); i++) {
            byte[] src = imgs.get(i);
            int base = i * c * plane;
            if (gray.get(i)) {
                for (int ch = 0; ch < c; ch++) System.arraycopy(src, 0, px, base + ch * plane, plane);
            } else if (c == 3) {
                System.arraycopy(src, 0, px, base, 3 * plane);
            } else {
                for (int p = 0; p < plane; p++) {
                    px[base + p] = (byte) ImageDataset.luma(src[p] & 0xFF, src[plane + p] & 0xFF, src[2 * plane + p] & 0xFF);
                }
            }
        }
        return new ImageDataset(px, files.size(), c, h, w, null, dir.toString());
    }

    static boolean isGray(BufferedImage img) {
        ColorModel cm = img.getColorModel();
        return !(cm instanceof IndexColorModel) && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY;
    }

    private static byte[] grayPixels(BufferedImage img) {
        Raster r = img.getRaster();
        int bits = img.getColorModel().getComponentSize(0);
        int max = (1 << bits) - 1;
        int w = img.getWidth(), h = img.getHeight();
        byte[] out = new byte[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = r.getSample(x, y, 0);
                out[y * w + x] = (byte) (bits == 8 ? v : (v * 255 + max / 2) / max);
            }
        }
        return out;
    }

    private static byte[] rgbPixels(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        int plane = w * h;
        byte[] out = new byte[3 * plane];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = img.getRGB(x, y);
                int p = y * w + x;
                out[p] = (byte) (argb >> 16);
                out[plane + p] = (byte) (argb >> 8);
                out[2 * plane + p] = (byte) argb;
            }
        }
        return out;
    }
}
