package dev.tfmq.harness.cluster;

import dev.tfmq.harness.run.Hashing;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

/**
 * A worker without the coordinator's quantized artifact downloads it from the coordinator's HTTP server
 * ({@code GET /artifact/<sha256>}, served while a cluster run has the dashboard enabled), so containers and pods need
 * no shared volume. The download goes to a temporary file next to the destination, is checked against the SHA-256 the
 * coordinator's provenance states, and only then renamed into place: a half-written or foreign file is never used.
 */
public final class ArtifactFetch {
    /** The path under the coordinator's HTTP server; the SHA-256 in it names the only file it will serve. */
    public static String route(String sha256) { return "/artifact/" + sha256; }

    private ArtifactFetch() {}

    /** Downloads {@code url} to {@code dest}; fails, leaving nothing at {@code dest}, unless its SHA-256 is {@code sha256}. */
    public static void download(String url, String sha256, Path dest, Duration timeout) throws IOException {
        download(url, sha256, dest, timeout, null);
    }

    /** As above, sending {@code token} (may be null) as the bearer token the coordinator's dashboard asks for. */
    public static void download(String url, String sha256, Path dest, Duration timeout, String token) throws IOException {
        Path dir = dest.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".artifact", ".download");
        try {
            HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
            HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET();
            if (token != null) rb.header("Authorization", "Bearer " + token);
            HttpRequest req = rb.build();
            HttpResponse<InputStream> resp;
            try {
                resp = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while downloading " + url, e);
            }
            try (InputStream in = resp.body()) {
                if (resp.statusCode() != 200) {
                    throw new IOException("GET " + url + " answered HTTP " + resp.statusCode() + (resp.statusCode() == 401
                            ? " (the coordinator's dashboard has a token: set the same TFMQ_DASHBOARD_TOKEN on the worker)" : ""));
                }
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            String got = Hashing.sha256(tmp);
            if (!got.equals(sha256)) {
                throw new IOException("the artifact downloaded from " + url + " has SHA-256 " + got + ", the coordinator's provenance says "
                        + sha256);
            }
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (java.net.ConnectException | java.net.http.HttpTimeoutException e) {
            throw new IOException("cannot reach the coordinator's artifact server at " + url + ": " + e, e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
