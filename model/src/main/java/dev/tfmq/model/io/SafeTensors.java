package dev.tfmq.model.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reader and writer of the safetensors format: an 8-byte little-endian header length, a JSON header mapping
 * each tensor name to {dtype, shape, data_offsets}, then the raw little-endian data.
 *
 * <p>Every structural promise of the header is checked before any data is touched, because a checkpoint from
 * elsewhere is untrusted input: a bad file fails with a message naming the file, the tensor and the problem.
 */
public final class SafeTensors {
    /** Headers larger than this are refused (the reference implementation uses the same bound). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor as declared in the header. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

    private final Path file;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final Map<String, INDArray> tensors;

    private SafeTensors(Path file, Map<String, Entry> entries, Map<String, String> metadata,
                        Map<String, INDArray> tensors) {
        this.file = file;
        this.entries = entries;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    public Path file() { return file; }

    /** Tensors in file (offset) order. */
    public Map<String, INDArray> tensors() { return Collections.unmodifiableMap(tensors); }

    public Map<String, Entry> entries() { return Collections.unmodifiableMap(entries); }

    public Map<String, String> metadata() { return Collections.unmodifiableMap(metadata); }

    public INDArray get(String name) throws FormatException {
        INDArray a = tensors.get(name);
        if (a == null) {
            throw new FormatException(file, "no tensor named '" + name + "' (it holds " + tensors.size() + " tensors)");
        }
        return a;
    }

    public static SafeTensors read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new FormatException(file, "file of " + size + " bytes is too short for a safetensors header");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
                throw new FormatException(file, "header length " + headerLen + " outside [2, " + MAX_HEADER_BYTES + "]");
            }
            if (8 + headerLen > size) {
                throw new FormatException(file, "header length " + headerLen + " runs past the end of the file (" + size + " bytes)");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8);
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Header header = parseHeader(file, new String(headerBuf.array(), StandardCharsets.UTF_8), dataSize);
            String digest = header.metadata.get(DATA_SHA256);
            if (digest != null) verify(file, ch, dataStart, digest);
            Map<String, INDArray> tensors = new LinkedHashMap<>();
            for (Entry e : header.entries.values()) {
                long bytes = e.end - e.begin;
                if (bytes > Integer.MAX_VALUE) throw new FormatException(file, "tensor '" + e.name + "' larger than 2 GiB");
                ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, bytes);
                tensors.put(e.name, TensorBytes.decode(data, e.dtype, e.shape, ByteOrder.LITTLE_ENDIAN));
            }
            return new SafeTensors(file, header.entries, header.metadata, tensors);
        }
    }

    private record Header(Map<String, Entry> entries, Map<String, String> metadata) {}

    private static Header parseHeader(Path file, String text, long dataSize) throws FormatException {
        JsonNode root;
        try {
            root = JSON.readTree(text.trim());
        } catch (JsonProcessingException ex) {
            throw new FormatException(file, "header is not valid JSON: " + ex.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new FormatException(file, "header must be a JSON object");
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> list = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = root.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new FormatException(file, "__metadata__ must be an object of strings");
                Iterator<Map.Entry<String, JsonNode>> m = v.fields();
                while (m.hasNext()) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) {
                        throw new FormatException(file, "__metadata__ value of '" + kv.getKey() + "' is not a string");
                    }
                    metadata.put(kv.getKey(), kv.getValue().asText());
                }
                continue;
            }
            list.add(parseEntry(file, name, v, dataSize));
        }
        list.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long cursor = 0;
        Entry previous = null;
        for (Entry e : list) {
            if (e.begin < cursor) {
                throw new FormatException(file, "tensor '" + e.name + "' data [" + e.begin + ", " + e.end
                        + ") overlaps tensor '" + previous.name + "' [" + previous.begin + ", " + previous.end + ")");
            }
            if (e.end >= cursor) {
                cursor = e.end;
                previous = e;
            }
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Entry e : list) entries.put(e.name, e);
        return new Header(entries, metadata);
    }

    private static Entry parseEntry(Path file, String name, JsonNode v, long dataSize) throws FormatException {
        String where = "tensor '" + name + "'";
        if (!v.isObject()) throw new FormatException(file, where + ": header entry must be an object");
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new FormatException(file, where + ": missing string 'dtype'");
        DType dtype = DType.fromSafetensors(dt.asText());
        if (dtype == null) {
            throw new FormatException(file, where + ": unsupported dtype '" + dt.asText()
                    + "' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
        }
        if (sh == null || !sh.isArray()) throw new FormatException(file, where + ": missing array 'shape'");
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new FormatException(file, where + ": shape entry " + i + " is not a non-negative integer: " + d);
            }
            shape[i] = d.asLong();
        }
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber()) {
            throw new FormatException(file, where + ": 'data_offsets' must be [begin, end]");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new FormatException(file, where + ": data_offsets [" + begin + ", " + end + "] are not ordered");
        }
        if (end > dataSize) {
            throw new FormatException(file, where + ": data_offsets end " + end + " lies past the data section ("
                    + dataSize + " bytes)");
        }
        long count;
        try {
            count = TensorBytes.elementCount(shape);
        } catch (ArithmeticException ex) {
            throw new FormatException(file, where + ": shape overflows");
        }
        if (count * dtype.bytes() != end - begin) {
            throw new FormatException(file, where + ": shape " + java.util.Arrays.toString(shape) + " of " + dtype
                    + " needs " + count * dtype.bytes() + " bytes but data_offsets span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    /**
     * Metadata key of the SHA-256 (hex) of the whole data section, written by {@link #writeChecksummed} and verified
     * by {@link #read} whenever present: a flipped byte in a tensor then fails the read instead of changing numbers.
     */
    public static final String DATA_SHA256 = "tfmq_data_sha256";

    /** Whether the file this was read from recorded (and so passed) a data checksum. */
    public boolean checksummed() { return metadata.containsKey(DATA_SHA256); }

    /** As {@link #write(Path, Map, Map)}, recording the data section's SHA-256 under {@link #DATA_SHA256}. */
    public static void writeChecksummed(Path file, Map<String, INDArray> tensors, Map<String, String> metadata) throws IOException {
        Map<String, DType> types = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) types.put(e.getKey(), DType.of(e.getValue().dataType()));
        write(file, tensors, types, metadata, true);
    }

    /** Streams the data section through SHA-256 (1 MiB at a time) and compares it with the recorded digest. */
    private static void verify(Path file, FileChannel ch, long dataStart, String want) throws IOException {
        java.security.MessageDigest md = Sha256.digest();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        for (long pos = dataStart; ; ) {
            buf.clear();
            int n = ch.read(buf, pos);
            if (n < 0) break;
            buf.flip();
            md.update(buf);
            pos += n;
        }
        String have = Sha256.hex(md);
        if (!have.equalsIgnoreCase(want)) {
            throw new FormatException(file, "data section SHA-256 " + have + " does not match the " + want
                    + " recorded in its header: the file is corrupt");
        }
    }

    /** Writes tensors in their own ND4J type (see {@link DType#of}). */
    public static void write(Path file, Map<String, INDArray> tensors, Map<String, String> metadata) throws IOException {
        Map<String, DType> types = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) types.put(e.getKey(), DType.of(e.getValue().dataType()));
        write(file, tensors, types, metadata);
    }

    /** Writes tensors, each converted to the given on-disk type (e.g. F16 from float32 memory). */
    public static void write(Path file, Map<String, INDArray> tensors, Map<String, DType> types,
                             Map<String, String> metadata) throws IOException {
        write(file, tensors, types, metadata, false);
    }

    private static void write(Path file, Map<String, INDArray> tensors, Map<String, DType> types,
                              Map<String, String> metadata, boolean checksum) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = null;
        if (checksum || (metadata != null && !metadata.isEmpty())) {
            meta = header.putObject("__metadata__");
            if (metadata != null) metadata.forEach(meta::put);
        }
        List<byte[]> blobs = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is reserved");
            DType type = types.getOrDefault(e.getKey(), DType.of(e.getValue().dataType()));
            byte[] bytes = TensorBytes.encode(e.getValue(), type);
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", type.safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (long d : e.getValue().shape()) shape.add(d);
            ArrayNode offs = entry.putArray("data_offsets");
            offs.add(offset);
            offs.add(offset + bytes.length);
            offset += bytes.length;
            blobs.add(bytes);
        }
        if (checksum) {
            java.security.MessageDigest md = Sha256.digest();
            for (byte[] b : blobs) md.update(b);
            meta.put(DATA_SHA256, Sha256.hex(md));
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = new byte[padded];
        java.util.Arrays.fill(headerBytes, (byte) ' ');
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        AtomicFiles.write(file, out -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
            out.write(len.array());
            out.write(headerBytes);
            for (byte[] b : blobs) out.write(b);
        });
    }
}
