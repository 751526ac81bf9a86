package dev.tfmq.model.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes a file completely under a temporary name, then renames it, so readers never see half a file. */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Body of a write into a stream. */
    @FunctionalInterface
    public interface Writer {
        void writeTo(OutputStream out) throws IOException;
    }

    public static void write(Path target, Writer body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        IN_FLIGHT.add(tmp);
        boolean done = false;
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                body.writeTo(out);
            }
            // temp files are created owner-only; the result should be readable like any file we write
            if (Files.getFileStore(tmp).supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class)) {
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } finally {
            IN_FLIGHT.remove(tmp);
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    /** Temporary files this process is writing right now (never removed as stale). */
    private static final java.util.Set<Path> IN_FLIGHT = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The names {@link #write} gives its temporary files: "." + target name + "." + random digits + ".tmp". */
    private static final java.util.regex.Pattern TEMP_NAME = java.util.regex.Pattern.compile("\\..+\\.\\d+\\.tmp");

    /**
     * Deletes the temporary files a killed writer left in {@code dir} (not its subfolders): files named as
     * {@link #write} names them that no write of this process has open. Returns how many were removed.
     */
    public static int removeStale(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        int n = 0;
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path abs = p.toAbsolutePath();
                if (TEMP_NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        && !IN_FLIGHT.contains(abs) && Files.deleteIfExists(p)) {
                    n++;
                }
            }
        }
        return n;
    }

    public static void writeString(Path target, String text) throws IOException {
        write(target, out -> out.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
}
