package dev.tfmq.model.io;

import dev.tfmq.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class NpyTest {
    @TempDir
    Path dir;

    @Test
    void readsNumpyWrittenFixtures() throws IOException {
        INDArray x = Npy.read(Fixtures.tinyGray28().resolve("x.npy"));
        assertArrayEquals(new long[]{3, 1, 28, 28}, x.shape());
        assertEquals(DataType.FLOAT, x.dataType());
        INDArray t = Npy.read(Fixtures.tinyGray28().resolve("t.npy"));
        assertEquals(DataType.LONG, t.dataType());
        assertArrayEquals(new long[]{0, 500, 999}, t.toLongVector());
        Map<String, INDArray> proj = Npz.read(Fixtures.tinyGray28().resolve("temb_proj.npz"));
        assertTrue(proj.containsKey("down_blocks.1.resnets.0.time_emb_proj"), proj.keySet().toString());
    }

    @Test
    void roundTripsThroughFiles() throws IOException {
        INDArray a = Nd4j.rand(DataType.DOUBLE, 2, 3, 4);
        Path f = dir.resolve("a.npy");
        Npy.write(f, a);
        assertEquals(a, Npy.read(f));
        assertEquals(0, (Files.size(f) - a.length() * 8) % 64, "header padded to 64 bytes");
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put("mu", Nd4j.rand(DataType.DOUBLE, 5));
        m.put("sigma", Nd4j.rand(DataType.DOUBLE, 5, 5));
        m.put("labels", Nd4j.createFromArray(1, 2, 3));
        Path z = dir.resolve("s.npz");
        Npz.write(z, m);
        assertEquals(m, Npz.read(z));
    }

    @Test
    void readsFortranOrderAndBigEndian() throws IOException {
        // np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)) saved by numpy
        String dict = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }";
        byte[] h = (dict + " ".repeat(128 - 10 - dict.length() - 1) + "\n").getBytes();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + h.length + 24);
        b.put(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        b.put((byte) h.length).put((byte) 0).put(h);
        for (int v : new int[]{0, 3, 1, 4, 2, 5}) b.putInt(v);
        INDArray a = Npy.read(b.array(), Path.of("inline.npy"));
        assertEquals(Nd4j.createFromArray(new int[][]{{0, 1, 2}, {3, 4, 5}}), a);
    }

    @Test
    void truncatedFileNamesTheProblem() throws IOException {
        Path f = dir.resolve("a.npy");
        Npy.write(f, Nd4j.rand(DataType.FLOAT, 10));
        byte[] all = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.npy");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 4));
        FormatException e = assertThrows(FormatException.class, () -> Npy.read(cut));
        assertTrue(e.getMessage().contains("cut.npy") && e.getMessage().contains("needs 40"), e.getMessage());
        Path notNpy = dir.resolve("x.npy");
        Files.writeString(notNpy, "hello world, not numpy");
        assertTrue(assertThrows(FormatException.class, () -> Npy.read(notNpy)).getMessage().contains("magic"));
    }

    /** A .npy header for {@code shape} of {@code descr}, padded as numpy pads it. */
    private static byte[] header(String descr, String shape) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        byte[] h = (dict + " ".repeat(128 - 10 - dict.length() - 1) + "\n").getBytes();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + h.length);
        b.put(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        b.put((byte) h.length).put((byte) 0).put(h);
        return b.array();
    }

    /** An .npz with one deflated member: that header, then {@code zeros} zero bytes. */
    private Path npz(String member, byte[] header, long zeros) throws IOException {
        Path z = dir.resolve(member + ".npz");
        try (java.util.zip.ZipOutputStream out = new java.util.zip.ZipOutputStream(Files.newOutputStream(z))) {
            out.setLevel(java.util.zip.Deflater.BEST_SPEED);
            out.putNextEntry(new java.util.zip.ZipEntry(member + ".npy"));
            out.write(header);
            byte[] chunk = new byte[1 << 20];
            for (long left = zeros; left > 0; left -= chunk.length) out.write(chunk, 0, (int) Math.min(chunk.length, left));
            out.closeEntry();
        }
        return z;
    }

    @Test
    void declaredSizesAreCheckedAgainstTheLimitAndTheRealStreamBeforeAllocating() throws IOException {
        // issue 14: a 2 MB .npz whose entry declares a 2 GiB array ended in OutOfMemoryError
        Path bomb = npz("sigma", header("<f8", "(268435456,)"), 64L << 20);
        assertTrue(Files.size(bomb) < 2_000_000, "the archive is small: " + Files.size(bomb));
        String m = assertThrows(FormatException.class, () -> Npz.read(bomb)).getMessage();
        assertTrue(m.contains("sigma.npz:sigma.npy") && m.contains("declares 2147483648 bytes")
                && m.contains("over the limit of 1073741824"), m);
        // under the limit but the stream ends early: the reader stops at the real end instead of allocating 512 MiB
        Path shortNpz = npz("mu", header("<f8", "(67108864,)"), 1 << 20);
        m = assertThrows(FormatException.class, () -> Npz.read(shortNpz)).getMessage();
        assertTrue(m.contains("mu.npz:mu.npy") && m.contains("data holds 1048576 bytes") && m.contains("needs 536870912"), m);
        // a shape whose element count overflows, and a negative one
        m = assertThrows(FormatException.class, () -> Npy.read(header("<f4", "(4294967296, 4294967296)"), Path.of("big.npy"))).getMessage();
        assertTrue(m.contains("big.npy") && m.contains("more than 2^63"), m);
        m = assertThrows(FormatException.class, () -> Npy.read(header("<f4", "(-3,)"), Path.of("neg.npy"))).getMessage();
        assertTrue(m.contains("negative shape entry -3"), m);
        // a zero-element array is a valid array, written and read back
        Path empty = dir.resolve("empty.npy");
        Npy.write(empty, Nd4j.zeros(DataType.FLOAT, 0, 1, 28, 28));
        assertArrayEquals(new long[]{0, 1, 28, 28}, Npy.read(empty).shape());
    }
}
