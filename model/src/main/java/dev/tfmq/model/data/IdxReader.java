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

    static Idx decode(byte[] raw, Path file, int expectedDims) throws FormatException {
        byte[] b = raw;
        if (raw.length >= 2 && (raw[0] & 0xFF) == 0x1f && (raw[1] & 0xFF) == 0x8b) {
            try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(raw))) {
                b = in.readAllBytes();
            } catch (EOFException e) {
                throw new FormatException(file, "truncated gzip stream (unexpected end of compressed data)");
            } catch (ZipException e) {
                throw new FormatException(file, "corrupt gzip stream: " + e.getMessage());
            } catch (IOException e) {
                throw new FormatException(file, "cannot decompress: " + e);
            }
        }
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
        if (b.length < header) {
            throw new FormatException(file, "truncated header: " + b.length + " bytes, the dimension sizes need " + header);
        }
        int[] dims = new int[expectedDims];
        long count = 1;
        for (int d = 0; d < expectedDims; d++) {
            int o = 4 + 4 * d;
            dims[d] = ((b[o] & 0xFF) << 24) | ((b[o + 1] & 0xFF) << 16) | ((b[o + 2] & 0xFF) << 8) | (b[o + 3] & 0xFF);
            if (dims[d] <= 0) throw new FormatException(file, "dimension " + d + " has size " + dims[d] + ", must be positive");
            count *= dims[d];
        }
        long have = b.length - header;
        if (have < count) {
            throw new FormatException(file, "truncated: the header promises " + count + " data bytes ("
                    + java.util.Arrays.toString(dims) + ") but only " + have + " follow");
        }
        if (have > count) {
            throw new FormatException(file, (have - count) + " unexpected bytes after the " + count + " data bytes of "
                    + java.util.Arrays.toString(dims));
        }
        byte[] data = java.util.Arrays.copyOfRange(b, header, b.length);
        return new Idx(dims, data);
    }
}
