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

    public static INDArray read(Path file) throws IOException {
        return read(Files.readAllBytes(file), file);
    }

    /** Parses the bytes of one .npy file; {@code source} names it in error messages. */
    public static INDArray read(byte[] bytes, Path source) throws FormatException {
        if (bytes.length < 10) throw new FormatException(source, "too short for a .npy file");
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) throw new FormatException(source, "missing the \\x93NUMPY magic string");
        }
        int major = bytes[6] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new FormatException(source, "truncated header");
            headerLen = b.getInt(8);
            headerStart = 12;
        } else {
            throw new FormatException(source, "unsupported .npy format version " + major);
        }
        if (headerLen < 0 || headerStart + (long) headerLen > bytes.length) {
            throw new FormatException(source, "header of " + headerLen + " bytes runs past the end of the file");
        }
        String header = new String(bytes, headerStart, headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
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
            try {
                dims.add(Long.parseLong(t));
            } catch (NumberFormatException ex) {
                throw new FormatException(source, "bad shape entry '" + t + "'");
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        int dataStart = headerStart + headerLen;
        long need = TensorBytes.elementCount(shape) * type.bytes();
        if (bytes.length - dataStart < need) {
            throw new FormatException(source, "data holds " + (bytes.length - dataStart) + " bytes, shape "
                    + java.util.Arrays.toString(shape) + " of " + d.group(2) + " needs " + need);
        }
        ByteBuffer data = ByteBuffer.wrap(bytes, dataStart, (int) need).slice();
        if (!fortran || shape.length < 2) {
            return TensorBytes.decode(data, type, shape, order);
        }
        long[] reversed = new long[shape.length];
        for (int i = 0; i < shape.length; i++) reversed[i] = shape[shape.length - 1 - i];
        int[] perm = new int[shape.length];
        for (int i = 0; i < shape.length; i++) perm[i] = shape.length - 1 - i;
        return TensorBytes.decode(data, type, reversed, order).permute(perm).dup('c');
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

    static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }
}
