package dev.tfmq.harness.run;

import dev.tfmq.model.io.Sha256;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.stream.Stream;

/** SHA-256 of strings, files and folders (for cache keys, fingerprints and provenance). */
public final class Hashing {
    private Hashing() {}

    public static String sha256(String text) {
        MessageDigest d = Sha256.digest();
        d.update(text.getBytes(StandardCharsets.UTF_8));
        return Sha256.hex(d);
    }

    /** Hash of every regular file under a folder (relative names and contents, in name order), or of one file. */
    public static String sha256(Path path) throws IOException {
        MessageDigest d = Sha256.digest();
        List<Path> files;
        if (Files.isDirectory(path)) {
            try (Stream<Path> s = Files.walk(path)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
        } else {
            files = List.of(path);
        }
        byte[] buf = new byte[1 << 16];
        for (Path f : files) {
            d.update(path.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                for (int r; (r = in.read(buf)) > 0; ) d.update(buf, 0, r);
            }
        }
        return Sha256.hex(d);
    }
}
