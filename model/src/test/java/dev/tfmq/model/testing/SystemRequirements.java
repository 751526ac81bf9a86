package dev.tfmq.model.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Tests that need something a fresh machine lacks (a Debian package: the Fashion-MNIST files, Chromium, Prometheus).
 * Outside CI such a test is skipped with the reason printed, so the README's test command passes on a machine with
 * only Java and Maven; inside CI ({@code CI=true}, where {@code .ci/run} installs the packages first) it fails, so a
 * missing install step cannot hide behind a skip.
 */
public final class SystemRequirements {
    private SystemRequirements() {}

    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Skips (outside CI) or fails (in CI) unless {@code present}; {@code install}: the command that provides it. */
    public static void require(boolean present, String what, String install) {
        if (present) return;
        String reason = what + " is not installed (" + install + "; bash .ci/run installs it)";
        if (inCi()) fail("CI=true and " + reason);
        System.out.println("SKIPPED: " + reason);
        Assumptions.assumeTrue(false, reason);
    }

    /** An executable on the PATH, as {@link #require}: skipped outside CI, a failure inside. */
    public static Path requireBinary(String binary, String install) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, binary);
            if (Files.isExecutable(p)) return p;
        }
        require(false, binary, install);
        throw new AssertionError("unreachable");
    }
}
