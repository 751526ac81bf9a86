package dev.tfmq.model.data;

import dev.tfmq.model.io.FormatException;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed (detected by the gzip magic bytes).
 * Layout: two zero bytes, a type byte (only 0x08, unsigned byte, is supported), the number of dimensions, then one
 * big-endian 32-bit size per dimension, then the data. Images are magic 0x00000803 ([N, H, W]), labels 0x00000801
 * ([N]). Every deviation — wrong magic, dimension count, non-positive size, data shorter or longer than the header
 * promises, a truncated gzip stream — is a {@link FormatException} naming the file and the problem.
 */
public final class IdxReader {
    private IdxReader() {}

    /** A decoded IDX array of unsigned bytes. */
    record Idx(int[] dims, byte[] data) {}

    /** Reads an image file (magic 0x00000803) as a gray dataset [N, 1, H, W] without labels. */
    public static ImageDataset readImages(Path file) throws IOException {
        Idx idx = read(file, 3);
        return new ImageDataset(idx.data, idx.dims[0], 1, idx.dims[1], idx.dims[2], null, file.toString());
    }

    /** Reads a label file (magic 0x00000801). */
    public static int[] readLabels(Path file) throws IOException {
        Idx idx = read(file, 1);
        int[] labels = new int[idx.dims[0]];
        for (int i = 0; i < labels.length; i++) labels[i] = idx.data[i] & 0xFF;
        return labels;
    }

    /** Images with their labels; the counts must agree. */
    public static ImageDataset read(Path images, Path labels) throws IOException {
        Idx im = read(images, 3);
        int[] lab = readLabels(labels);
        if (lab.length != im.dims[0]) {
            throw new FormatException(labels, lab.length + " labels but " + images + " holds " + im.dims[0] + " images");
        }
        return new ImageDataset(im.data, im.dims[0], 1, im.dims[1], im.dims[2], lab, images.toString());
    }

    /**
     * Fashion-MNIST from a folder holding {@code train-images-idx3-ubyte[.gz]}, {@code train-labels-idx1-ubyte[.gz]},
     * {@code t10k-images-idx3-ubyte[.gz]}, {@code t10k-labels-idx1-ubyte[.gz]}.
     */
    public static ImageDataset fashionMnist(Path dir, boolean train) throws IOException {
        String p = train ? "train" : "t10k";
        return read(find(dir, p + "-images-idx3-ubyte"), find(dir, p + "-labels-idx1-ubyte"));
    }

    private static Path find(Path dir, String name) throws IOException {
        for (String n : new String[]{name + ".gz", name}) {
            Path f = dir.resolve(n);
            if (Files.isRegularFile(f)) return f;
        }
        throw new FormatException(dir, "no " + name + ".gz or " + name + " in this folder");
    }

    static Idx read(Path file, int expectedDims) throws IOException {
        return decode(Files.readAllBytes(file), file, expectedDims);
    }

    /** The most data bytes one IDX file may declare (Fashion-MNIST's training images are 47 MB). */
    public static final long MAX_DATA_BYTES = 1L << 30;

    static Idx decode(byte[] raw, Path file, int expectedDims) throws FormatException {
        boolean gzip = raw.length >= 2 && (raw[0] & 0xFF) == 0x1f && (raw[1] & 0xFF) == 0x8b;
        try (java.io.InputStream in = gzip ? new GZIPInputStream(new ByteArrayInputStream(raw)) : new ByteArrayInputStream(raw)) {
            return decode(in, file, expectedDims);
        } catch (EOFException e) {
            throw new FormatException(file, "truncated gzip stream (unexpected end of compressed data)");
        } catch (ZipException e) {
            throw new FormatException(file, "corrupt gzip stream: " + e.getMessage());
        } catch (FormatException e) {
            throw e;
        } catch (IOException e) {
            throw new FormatException(file, "cannot decompress: " + e);
        }
    }

    /**
     * Reads the header first and then exactly the bytes it declares (checked against {@link #MAX_DATA_BYTES}), so a
     * small gzip file that inflates to gigabytes is refused before it is inflated.
     */
    private static Idx decode(java.io.InputStream in, Path file, int expectedDims) throws IOException {
        byte[] b = in.readNBytes(4);
        if (b.length < 4) throw new FormatException(file, "only " + b.length + " bytes, too short for an IDX header");
        int magic = ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        int expectedMagic = 0x0800 | expectedDims;
        String kind = expectedDims == 3 ? "an image" : "a label";
        if (b[0] != 0 || b[1] != 0) {
            throw new FormatException(file, String.format("not an IDX file: magic number 0x%08X, expected 0x%08X (%s file)",
                    magic, expectedMagic, kind));
        }
        if ((b[2] & 0xFF) != 0x08) {
            throw new FormatException(file, String.format("IDX data type 0x%02X is not supported (only 0x08, unsigned byte);"
                    + " magic 0x%08X", b[2] & 0xFF, magic));
        }
        if ((b[3] & 0xFF) != expectedDims) {
            throw new FormatException(file, String.format("magic number 0x%08X has %d dimensions; %s file has %d (0x%08X)",
                    magic, b[3] & 0xFF, kind, expectedDims, expectedMagic));
        }
        int header = 4 + 4 * expectedDims;
        byte[] sizes = in.readNBytes(4 * expectedDims);
        if (sizes.length < 4 * expectedDims) {
            throw new FormatException(file, "truncated header: " + (4 + sizes.length) + " bytes, the dimension sizes need " + header);
        }
        int[] dims = new int[expectedDims];
        long count = 1;
        for (int d = 0; d < expectedDims; d++) {
            int o = 4 * d;
            dims[d] = ((sizes[o] & 0xFF) << 24) | ((sizes[o + 1] & 0xFF) << 16) | ((sizes[o + 2] & 0xFF) << 8) | (sizes[o + 3] & 0xFF);
            if (dims[d] <= 0) throw new FormatException(file, "dimension " + d + " has size " + dims[d] + ", must be positive");
            count *= dims[d];
            if (count > MAX_DATA_BYTES) break; // (a product of up to 2^30 and a 31-bit size cannot overflow)
        }
        if (count > MAX_DATA_BYTES) {
            throw new FormatException(file, "the header declares " + count + " data bytes (" + java.util.Arrays.toString(dims)
                    + "), over the limit of " + MAX_DATA_BYTES);
        }
        byte[] data = in.readNBytes((int) count);
        if (data.length < count) {
            throw new FormatException(file, "truncated: the header promises " + count + " data bytes ("
                    + java.util.Arrays.toString(dims) + ") but only " + data.length + " follow");
        }
        long extra = 0;
        byte[] skip = new byte[8192];
        for (int n; extra <= (1 << 20) && (n = in.read(skip)) > 0; ) extra += n; // counted up to 1 MiB, not inflated further
        if (extra > 0) {
            throw new FormatException(file, (extra > (1 << 20) ? "more than 1048576" : String.valueOf(extra))
                    + " unexpected bytes after the " + count + " data bytes of "
                    + java.util.Arrays.toString(dims));
        }
        return new Idx(dims, data);
    }
}
