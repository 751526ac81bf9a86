package dev.tfmq.model.io;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** The one place SHA-256 digests are made (artifact checksums, model checksums, cache keys, fingerprints). */
public final class Sha256 {
    private Sha256() {}

    /** A fresh SHA-256 digest (every JDK has the algorithm). */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JVM", e);
        }
    }

    /** The digest's value in lower-case hex (finishes the digest). */
    public static String hex(MessageDigest d) { return HexFormat.of().formatHex(d.digest()); }
}
