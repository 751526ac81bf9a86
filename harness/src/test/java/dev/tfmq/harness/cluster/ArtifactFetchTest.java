package dev.tfmq.harness.cluster;

import dev.tfmq.harness.run.Hashing;
import dev.tfmq.harness.web.Dashboard;
import dev.tfmq.harness.web.PrometheusSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A worker without a shared volume downloads the coordinator's artifact over HTTP, verified by SHA-256. */
class ArtifactFetchTest {
    @Test
    void downloadsVerifiesAndNeverLeavesAForeignOrPartialFile(@TempDir Path dir) throws Exception {
        byte[] body = new byte[3 << 20];
        new Random(1).nextBytes(body);
        Path served = dir.resolve("coordinator/artifact.safetensors");
        Files.createDirectories(served.getParent());
        Files.write(served, body);
        String sha = Hashing.sha256(served);
        try (Dashboard d = Dashboard.start("127.0.0.1", 0, "t", "r", new PrometheusSink("t", "r"))) {
            d.serveFile(ArtifactFetch.route(sha), served);
            String url = "http://127.0.0.1:" + d.port() + ArtifactFetch.route(sha);
            Path dest = dir.resolve("worker/cache/artifacts/key/artifact.safetensors");
            ArtifactFetch.download(url, sha, dest, Duration.ofSeconds(30));
            assertArrayEquals(body, Files.readAllBytes(dest));

            Path other = dir.resolve("worker2/artifact.safetensors");
            var e = assertThrows(IOException.class, () -> ArtifactFetch.download(url, "0".repeat(64), other, Duration.ofSeconds(30)));
            assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
            assertFalse(Files.exists(other), "a file with the wrong checksum is not kept");
            try (var left = Files.list(other.getParent())) {
                assertEquals(0, left.count(), "no temporary file is left behind");
            }

            String missing = "http://127.0.0.1:" + d.port() + ArtifactFetch.route("f".repeat(64));
            var e404 = assertThrows(IOException.class, () -> ArtifactFetch.download(missing, "f".repeat(64), other, Duration.ofSeconds(30)));
            assertTrue(e404.getMessage().contains("HTTP 404"), e404.getMessage());
        }
        var down = assertThrows(IOException.class, () -> ArtifactFetch.download("http://127.0.0.1:9/artifact/x", "x",
                dir.resolve("w3/a"), Duration.ofSeconds(5)));
        assertTrue(down.getMessage().contains("cannot reach"), down.getMessage());
    }
}
