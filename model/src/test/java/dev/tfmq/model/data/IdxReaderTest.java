package dev.tfmq.model.data;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.testing.SystemRequirements;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class IdxReaderTest {
    @TempDir
    Path tmp;

    static Path idxDir() {
        try {
            return Path.of(IdxReaderTest.class.getResource("/data/idx/t10k-32-images.npy").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static ImageDataset fixture() throws IOException {
        return IdxReader.read(idxDir().resolve("t10k-32-images-idx3-ubyte.gz"), idxDir().resolve("t10k-32-labels-idx1-ubyte.gz"));
    }

    @Test
    void readsFashionMnistSubsetLikeNumpy() throws IOException {
        ImageDataset d = fixture();
        assertEquals(32, d.size());
        assertEquals(1, d.channels());
        assertEquals(28, d.height());
        assertEquals(28, d.width());
        long[] want = Npy.read(idxDir().resolve("t10k-32-labels.npy")).toLongVector();
        assertArrayEquals(Arrays.stream(want).mapToInt(v -> (int) v).toArray(), d.labels());
        assertArrayEquals(new int[]{9, 2, 1, 1, 6}, Arrays.copyOf(d.labels(), 5), "first Fashion-MNIST test labels");
        INDArray px = Npy.read(idxDir().resolve("t10k-32-images.npy"));   // uint8 [32, 28, 28]
        assertEquals(DataType.UBYTE, px.dataType());
        INDArray ref = px.castTo(DataType.DOUBLE).reshape(32, 1, 28, 28);
        for (int i : new int[]{0, 17, 31}) {
            for (int y = 0; y < 28; y++) {
                for (int x = 0; x < 28; x++) assertEquals((int) ref.getDouble(i, 0, y, x), d.pixel(i, 0, y, x));
            }
        }
        // conversions into preallocated arrays
        INDArray f01 = Nd4j.create(DataType.FLOAT, 32, 1, 28, 28);
        d.toFloat(0, 32, PixelRange.ZERO_ONE, f01);
        assertEquals(0, ref.div(255).sub(f01.castTo(DataType.DOUBLE)).amaxNumber().doubleValue(), 1e-7);
        INDArray fpm = Nd4j.create(DataType.DOUBLE, 4, 1, 28, 28);
        d.toFloat(10, 4, PixelRange.MINUS_ONE_ONE, fpm);
        INDArray sub = ref.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(10, 14));
        assertEquals(0, sub.div(127.5).sub(1).sub(fpm).amaxNumber().doubleValue(), 1e-12);
        assertEquals(-1.0, fpm.minNumber().doubleValue(), 0, "black background maps to -1");
        assertThrows(IllegalArgumentException.class, () -> d.toFloat(0, 3, PixelRange.ZERO_ONE, f01));
        assertThrows(IndexOutOfBoundsException.class, () -> d.toFloat(30, 4, PixelRange.ZERO_ONE));
        ImageDataset s = d.subset(3, 2);
        assertEquals(d.label(4), s.label(1));
        assertEquals(d.pixel(4, 0, 14, 14), s.pixel(1, 0, 14, 14));
    }

    static byte[] gunzip(Path f) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(f))) {
            return in.readAllBytes();
        }
    }

    static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bo)) {
            g.write(b);
        }
        return bo.toByteArray();
    }

    String err(byte[] content, boolean images) throws IOException {
        Path f = tmp.resolve("bad-" + System.nanoTime());
        Files.write(f, content);
        FormatException e = assertThrows(FormatException.class,
                () -> { if (images) IdxReader.readImages(f); else IdxReader.readLabels(f); });
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void corruptFilesGiveClearErrors() throws IOException {
        byte[] raw = gunzip(idxDir().resolve("t10k-32-images-idx3-ubyte.gz"));
        byte[] labels = gunzip(idxDir().resolve("t10k-32-labels-idx1-ubyte.gz"));
        // raw (uncompressed) files read the same as gzip
        Path rawFile = tmp.resolve("raw-idx3");
        Files.write(rawFile, raw);
        assertEquals(fixture().pixel(5, 0, 10, 10), IdxReader.readImages(rawFile).pixel(5, 0, 10, 10));

        String m = err(Arrays.copyOf(raw, raw.length - 100), true);
        assertTrue(m.contains("truncated") && m.contains("25088") && m.contains("24988"), m);
        assertTrue(err(gzip(Arrays.copyOf(raw, raw.length - 1)), true).contains("truncated"));
        byte[] gz = Files.readAllBytes(idxDir().resolve("t10k-32-images-idx3-ubyte.gz"));
        assertTrue(err(Arrays.copyOf(gz, gz.length / 2), true).contains("truncated gzip stream"));
        byte[] extra = Arrays.copyOf(raw, raw.length + 3);
        assertTrue(err(extra, true).contains("3 unexpected bytes"));
        byte[] badMagic = raw.clone();
        badMagic[0] = 0x12;
        assertTrue(err(badMagic, true).contains("not an IDX file: magic number 0x12000803"));
        assertTrue(err(labels, true).contains("has 1 dimensions; an image file has 3 (0x00000803)"));
        assertTrue(err(raw, false).contains("has 3 dimensions; a label file has 1 (0x00000801)"));
        byte[] floats = raw.clone();
        floats[2] = 0x0D;
        assertTrue(err(floats, true).contains("data type 0x0D"));
        assertTrue(err(Arrays.copyOf(raw, 10), true).contains("truncated header"));
        assertTrue(err(new byte[]{0, 0}, true).contains("too short"));
        // issue 14 (bounded reading): a header declaring more than the limit is refused before the data is inflated
        byte[] huge = raw.clone();
        huge[4] = 0x7f;
        huge[8] = huge[12] = 0x01;
        m = err(gzip(Arrays.copyOf(huge, 4096)), true);
        assertTrue(m.contains("declares") && m.contains("over the limit of 1073741824"), m);
        byte[] zeroDim = raw.clone();
        zeroDim[8] = zeroDim[9] = zeroDim[10] = zeroDim[11] = 0;
        assertTrue(err(zeroDim, true).contains("dimension 1 has size 0"));
        // label count mismatch
        Path lab = tmp.resolve("labels-31");
        byte[] l31 = Arrays.copyOf(labels, labels.length - 1);
        l31[7] = 31;
        Files.write(lab, l31);
        FormatException e = assertThrows(FormatException.class, () -> IdxReader.read(rawFile, lab));
        assertTrue(e.getMessage().contains("31 labels but") && e.getMessage().contains("32 images"), e.getMessage());
        FormatException missing = assertThrows(FormatException.class, () -> IdxReader.fashionMnist(tmp, true));
        assertTrue(missing.getMessage().contains("train-images-idx3-ubyte"));
    }

    @Test
    void realFashionMnistWhenInstalled() throws IOException {
        SystemRequirements.require(FashionMnist.available(), "Fashion-MNIST (" + FashionMnist.dir() + ")", FashionMnist.INSTALL);
        ImageDataset test = FashionMnist.open(false);
        assertEquals(10000, test.size());
        ImageDataset first = fixture();
        for (int y = 0; y < 28; y++) assertEquals(first.pixel(31, 0, y, 13), test.pixel(31, 0, y, 13));
        ImageDataset train = FashionMnist.open(true);
        assertEquals(60000, train.size());
        int[] counts = new int[10];
        for (int l : train.labels()) counts[l]++;
        for (int c : counts) assertEquals(6000, c);
    }
}
