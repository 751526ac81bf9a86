package dev.tfmq.model.io;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** NumPy {@code .npy} files (format versions 1.0, 2.0 and 3.0), for fixtures, statistics and debugging. */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-z]\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /**
     * The most bytes one array may declare (1 GiB; the largest array tfmq itself writes is a 2048² covariance,
     * 32 MiB). A larger declared shape is refused before anything is allocated, so a small file cannot make the
     * reader ask for gigabytes.
     */
    public static final long MAX_ARRAY_BYTES = 1L << 30;
    /** Headers are a short Python dict literal; numpy itself writes a few hundred bytes. */
    private static final int MAX_HEADER_BYTES = 1 << 20;

    /** What a header promises: element type, byte order, layout, shape, where the data starts and how long it is. */
    private record Header(DType type, String kind, ByteOrder order, boolean fortran, long[] shape, int dataStart, long need) {}

    public static INDArray read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_ARRAY_BYTES + MAX_HEADER_BYTES + 12) {
            throw new FormatException(file, "file of " + size + " bytes exceeds the limit of " + MAX_ARRAY_BYTES + " bytes per array");
        }
        return read(Files.readAllBytes(file), file);
    }

    /** Parses the bytes of one .npy file; {@code source} names it in error messages. */
    public static INDArray read(byte[] bytes, Path source) throws FormatException {
        Header h = header(bytes, headerEnd(bytes, source), source);
        if (bytes.length - h.dataStart() < h.need()) throw truncated(source, h, bytes.length - h.dataStart());
        return decode(h, ByteBuffer.wrap(bytes, h.dataStart(), (int) h.need()).slice());
    }

    /**
     * Reads one .npy file from a stream (a zip member) without trusting it: the header is read and checked first,
     * then exactly the bytes its shape needs, never more than {@code declaredSize} (the member's recorded size, or
     * -1 if unknown) or {@link #MAX_ARRAY_BYTES}, and allocation follows the bytes that really arrive.
     */
    static INDArray read(InputStream in, long declaredSize, Path source) throws IOException {
        byte[] lead = in.readNBytes(12);
        int end = headerEnd(lead, source);
        byte[] head = java.util.Arrays.copyOf(lead, Math.max(end, lead.length));
        int got = lead.length + in.readNBytes(head, lead.length, head.length - lead.length);
        if (got < end) throw new FormatException(source, "header of " + (end - 10) + " bytes runs past the end of the file");
        Header h = header(head, end, source);
        long have = head.length - end;
        if (declaredSize >= 0 && end + h.need() > declaredSize) throw truncated(source, h, declaredSize - end);
        byte[] rest = in.readNBytes((int) (h.need() - have));
        if (have + rest.length < h.need()) throw truncated(source, h, have + rest.length);
        ByteBuffer data = ByteBuffer.allocate((int) h.need());
        data.put(head, end, (int) have).put(rest).flip();
        return decode(h, data);
    }

    private static FormatException truncated(Path source, Header h, long have) {
        return new FormatException(source, "data holds " + have + " bytes, shape " + java.util.Arrays.toString(h.shape())
                + " of " + h.kind() + " needs " + h.need());
    }

    /** Checks magic and version in the first bytes and returns where the data starts. */
    private static int headerEnd(byte[] bytes, Path source) throws FormatException {
        if (bytes.length < 10) throw new FormatException(source, "too short for a .npy file");
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) throw new FormatException(source, "missing the \\x93NUMPY magic string");
        }
        int major = bytes[6] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new FormatException(source, "truncated header");
            headerLen = b.getInt(8) & 0xffffffffL;
            headerStart = 12;
        } else {
            throw new FormatException(source, "unsupported .npy format version " + major);
        }
        if (headerLen > MAX_HEADER_BYTES) {
            throw new FormatException(source, "header of " + headerLen + " bytes exceeds the limit of " + MAX_HEADER_BYTES);
        }
        return headerStart + (int) headerLen;
    }

    private static Header header(byte[] bytes, int end, Path source) throws FormatException {
        int headerStart = (bytes[6] & 0xff) == 1 ? 10 : 12;
        if (end > bytes.length) {
            throw new FormatException(source, "header of " + (end - headerStart) + " bytes runs past the end of the file");
        }
        String header = new String(bytes, headerStart, end - headerStart,
                (bytes[6] & 0xff) == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new FormatException(source, "header lacks descr/fortran_order/shape: " + header.trim());
        }
        DType type = DType.fromNpyKind(d.group(2));
        if (type == null) throw new FormatException(source, "unsupported dtype '" + d.group(1) + d.group(2) + "'");
        ByteOrder order = d.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        boolean fortran = f.group(1).equals("True");
        List<Long> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            String t = part.trim();
            if (t.isEmpty()) continue;
            long v;
            try {
                v = Long.parseLong(t);
            } catch (NumberFormatException ex) {
                throw new FormatException(source, "bad shape entry '" + t + "'");
            }
            if (v < 0) throw new FormatException(source, "negative shape entry " + v);
            dims.add(v);
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long need;
        try {
            need = Math.multiplyExact(TensorBytes.elementCount(shape), (long) type.bytes());
        } catch (ArithmeticException ex) {
            need = Long.MAX_VALUE;
        }
        if (need > MAX_ARRAY_BYTES) {
            throw new FormatException(source, "shape " + java.util.Arrays.toString(shape) + " of " + d.group(2) + " declares "
                    + (need == Long.MAX_VALUE ? "more than 2^63" : String.valueOf(need)) + " bytes, over the limit of "
                    + MAX_ARRAY_BYTES + " bytes per array");
        }
        return new Header(type, d.group(2), order, fortran, shape, end, need);
    }

    private static INDArray decode(Header h, ByteBuffer data) {
        long[] shape = h.shape();
        if (!h.fortran() || shape.length < 2) {
            return TensorBytes.decode(data, h.type(), shape, h.order());
        }
        long[] reversed = new long[shape.length];
        for (int i = 0; i < shape.length; i++) reversed[i] = shape[shape.length - 1 - i];
        int[] perm = new int[shape.length];
        for (int i = 0; i < shape.length; i++) perm[i] = shape.length - 1 - i;
        return TensorBytes.decode(data, h.type(), reversed, h.order()).permute(perm).dup('c');
    }

    public static void write(Path file, INDArray a) throws IOException {
        AtomicFiles.write(file, out -> write(out, a));
    }

    /** Writes {@code a} in its own type as a version 1.0 file, little endian, c order. */
    public static void write(OutputStream out, INDArray a) throws IOException {
        DType type = DType.of(a.dataType());
        if (type.npyKind() == null) throw new IllegalArgumentException("numpy has no " + type + " type");
        StringBuilder shape = new StringBuilder();
        long[] dims = a.shape();
        for (long dim : dims) shape.append(dim).append(", ");
        if (dims.length > 1) shape.setLength(shape.length() - 2);
        else if (dims.length == 1) shape.setLength(shape.length() - 1);
        String order = type.bytes() == 1 ? "|" : "<";
        String dict = "{'descr': '" + order + type.npyKind() + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int total = MAGIC.length + 4 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        StringBuilder h = new StringBuilder(dict);
        h.append(" ".repeat(pad)).append('\n');
        byte[] hb = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        out.write(MAGIC);
        out.write(1);
        out.write(0);
        out.write(hb.length & 0xff);
        out.write((hb.length >>> 8) & 0xff);
        out.write(hb);
        out.write(TensorBytes.encode(a, type));
    }

    static byte[] toBytes(INDArray a) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        write(bos, a);
        return bos.toByteArray();
    }

}
