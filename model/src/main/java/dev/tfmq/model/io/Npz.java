package dev.tfmq.model.io;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** NumPy {@code .npz} archives: a zip of {@code name.npy} members (stored or deflated). */
public final class Npz {
    private Npz() {}

    /** Arrays by name (without the {@code .npy} suffix), in archive order. */
    public static Map<String, INDArray> read(Path file) throws IOException {
        Map<String, INDArray> out = new LinkedHashMap<>();
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException ex) {
            throw new FormatException(file, "not a zip archive (" + ex.getMessage() + ")");
        }
        try (zip) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.isDirectory()) continue;
                String name = e.getName();
                if (!name.endsWith(".npy")) throw new FormatException(file, "member '" + name + "' is not a .npy file");
                try (java.io.InputStream in = zip.getInputStream(e)) {
                    out.put(name.substring(0, name.length() - 4), Npy.read(in, e.getSize(), Path.of(file + ":" + name)));
                } catch (ZipException ex) {
                    throw new FormatException(file, "member '" + name + "' is corrupt (" + ex.getMessage() + ")");
                }
            }
        }
        return out;
    }

    public static void write(Path file, Map<String, INDArray> arrays) throws IOException {
        AtomicFiles.write(file, raw -> {
            ZipOutputStream zip = new ZipOutputStream(raw);
            for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
                zip.write(Npy.toBytes(e.getValue()));
                zip.closeEntry();
            }
            zip.finish();
        });
    }
}
