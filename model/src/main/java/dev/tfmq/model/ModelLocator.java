package dev.tfmq.model;

import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resolves a model argument: an existing folder path, or the name of a model bundled under
 * {@code <tfmq home>/models/} (home: system property {@code tfmq.home}, else {@code TFMQ_HOME}, else the
 * build's {@code tfmq.root}, else the working directory), so {@code --model fmnist-ddpm} works from anywhere the launcher runs.
 */
public final class ModelLocator {
    private ModelLocator() {}

    public static Path home() {
        String p = System.getProperty("tfmq.home");
        if (p == null || p.isBlank()) p = System.getenv("TFMQ_HOME");
        // the build sets tfmq.root to the repository root for tests
        if (p == null || p.isBlank()) p = System.getProperty("tfmq.root");
        return p == null || p.isBlank() ? Path.of("").toAbsolutePath() : Path.of(p);
    }

    public static Path resolve(String nameOrPath) throws FileNotFoundException {
        Path direct = Path.of(nameOrPath);
        if (Files.isDirectory(direct)) return direct;
        Path bundled = home().resolve("models").resolve(nameOrPath);
        if (!nameOrPath.contains("/") && Files.isDirectory(bundled)) return bundled;
        throw new FileNotFoundException("model '" + nameOrPath + "' is neither a folder nor a bundled model under "
                + home().resolve("models"));
    }
}
