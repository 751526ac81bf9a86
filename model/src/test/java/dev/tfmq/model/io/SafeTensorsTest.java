package dev.tfmq.model.io;

import dev.tfmq.model.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void readsDiffusersCheckpoint() throws IOException {
        SafeTensors st = SafeTensors.read(Fixtures.tinyGray28().resolve("unet/diffusion_pytorch_model.safetensors"));
        INDArray w = st.get("conv_in.weight");
        assertArrayEquals(new long[]{32, 1, 3, 3}, w.shape());
        assertEquals(DataType.FLOAT, w.dataType());
        long params = st.tensors().values().stream().mapToLong(INDArray::length).sum();
        assertTrue(params > 1_100_000 && params < 1_200_000, "tiny-gray28 has 1.16M parameters, read " + params);
        FormatException missing = assertThrows(FormatException.class, () -> st.get("nope.weight"));
        assertTrue(missing.getMessage().contains("nope.weight"));
    }

    @Test
    void roundTripsEveryDtype() throws IOException {
        Map<String, INDArray> in = new LinkedHashMap<>();
        in.put("f64", Nd4j.createFromArray(1.5, -2.25, 1e-300).reshape(3));
        in.put("f32", Nd4j.createFromArray(new float[][]{{1f, -2f}, {3.5f, Float.MAX_VALUE}}));
        in.put("i64", Nd4j.createFromArray(1L, -5L, Long.MAX_VALUE));
        in.put("i32", Nd4j.createFromArray(7, -8));
        in.put("i8", Nd4j.createFromArray((byte) -128, (byte) 127));
        INDArray u8 = Nd4j.createFromArray(0, 200, 255).castTo(DataType.UBYTE);
        in.put("u8", u8);
        in.put("scalar", Nd4j.scalar(3.0f).reshape());
        Path f = dir.resolve("all.safetensors");
        SafeTensors.write(f, in, Map.of("format", "pt"));
        SafeTensors back = SafeTensors.read(f);
        assertEquals("pt", back.metadata().get("format"));
        for (String k : in.keySet()) {
            assertEquals(in.get(k), back.get(k), k);
            assertEquals(in.get(k).dataType(), back.get(k).dataType(), k);
        }
        assertEquals(200, back.get("u8").getInt(1));
    }

    @Test
    void halfPrecisionRoundsToNearestEven() throws IOException {
        INDArray x = Nd4j.createFromArray(1.0f, 0.1f, -65504f, 6e-8f, 1.0009765625f, 3.14159f);
        Path f = dir.resolve("half.safetensors");
        SafeTensors.write(f, Map.of("h", x, "b", x), Map.of("h", DType.F16, "b", DType.BF16), Map.of());
        SafeTensors back = SafeTensors.read(f);
        assertEquals(DType.F16, back.entries().get("h").dtype());
        INDArray h = back.get("h");
        // Values numpy gives for float16(x): 0.1 -> 0.0999755859375, pi -> 3.140625
        assertEquals(0.0999755859375f, h.getFloat(1), 0f);
        assertEquals(-65504f, h.getFloat(2), 0f);
        assertEquals(5.960464477539063e-08f, h.getFloat(3), 0f);
        assertEquals(1.0009765625f, h.getFloat(4), 0f);
        assertEquals(3.140625f, h.getFloat(5), 0f);
        INDArray b = back.get("b");
        // bfloat16(pi) = 3.140625, bfloat16(0.1) = 0.10009765625
        assertEquals(3.140625f, b.getFloat(5), 0f);
        assertEquals(0.10009765625f, b.getFloat(1), 0f);
    }

    private Path withHeader(String json, int dataBytes) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private String failure(Path f) {
        return assertThrows(FormatException.class, () -> SafeTensors.read(f)).getMessage();
    }

    @Test
    void rejectsMalformedHeaders() throws IOException {
        assertTrue(failure(withHeader("{\"a\":", 0)).contains("not valid JSON"));
        assertTrue(failure(withHeader("[1,2]", 0)).contains("JSON object"));
        assertTrue(failure(withHeader("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .contains("unsupported dtype 'Q7'"));
        assertTrue(failure(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4))
                .contains("needs 8 bytes"));
        assertTrue(failure(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4))
                .contains("past the data section"));
        assertTrue(failure(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).contains("overlaps"));
        assertTrue(failure(withHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4))
                .contains("non-negative"));
        assertTrue(failure(withHeader("{\"__metadata__\":{\"k\":1}}", 0)).contains("not a string"));
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertTrue(failure(huge).contains("header length"));
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[3]);
        String msg = failure(tiny);
        assertTrue(msg.contains("too short") && msg.contains("tiny.safetensors"), msg);
    }

    @Test
    void aRecordedDataChecksumIsVerifiedOnEveryRead(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Map<String, org.nd4j.linalg.api.ndarray.INDArray> t = new java.util.LinkedHashMap<>();
        t.put("a", org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 3, 5));
        t.put("b", org.nd4j.linalg.factory.Nd4j.createFromArray(new byte[]{1, 2, 3, 4}));
        Path f = tmp.resolve("c.safetensors");
        SafeTensors.writeChecksummed(f, t, Map.of("format", "x"));
        SafeTensors ok = SafeTensors.read(f);
        assertTrue(ok.checksummed());
        assertEquals(64, ok.metadata().get(SafeTensors.DATA_SHA256).length());
        assertEquals(t.get("a"), ok.get("a"));
        byte[] bytes = java.nio.file.Files.readAllBytes(f);
        for (int at : new int[]{bytes.length - 1, bytes.length - 4 - 20}) {
            byte[] flipped = bytes.clone();
            flipped[at] ^= 1;
            Path g = tmp.resolve("flipped.safetensors");
            java.nio.file.Files.write(g, flipped);
            String m = assertThrows(FormatException.class, () -> SafeTensors.read(g)).getMessage();
            assertTrue(m.contains("flipped.safetensors") && m.contains("data section SHA-256") && m.contains("corrupt"), m);
        }
        SafeTensors.write(f, t, Map.of());
        assertFalse(SafeTensors.read(f).checksummed(), "files without the key read as before");
    }
}
