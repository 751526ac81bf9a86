package dev.tfmq.harness.web;

import dev.tfmq.harness.cluster.ArtifactFetch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 14, item 6: with a token, the dashboard, /metrics and /artifact/ answer 401 to anyone without it. */
class AccessTokenTest {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static HttpResponse<String> get(String url, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyRouteNeedsTheTokenWhenOneIsSet(@TempDir Path dir) throws Exception {
        Path served = dir.resolve("artifact.safetensors");
        Files.write(served, new byte[]{1, 2, 3});
        String sha = dev.tfmq.harness.run.Hashing.sha256(served);
        try (Dashboard d = Dashboard.start("127.0.0.1", 0, "r", "tfmq W4A8", new PrometheusSink("r", "tfmq"), "s3cret-token")) {
            d.serveFile(ArtifactFetch.route(sha), served);
            String base = "http://127.0.0.1:" + d.port();
            for (String path : new String[]{"/", "/metrics", "/api/state", "/api/info", "/events", ArtifactFetch.route(sha)}) {
                HttpResponse<String> none = get(base + path);
                assertEquals(401, none.statusCode(), path);
                assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"), path);
                assertEquals(401, get(base + path, "Authorization", "Bearer wrong").statusCode(), path);
                assertEquals(401, get(base + path + "?token=s3cret-tokeN").statusCode(), path);
            }
            assertEquals(200, get(base + "/metrics", "Authorization", "Bearer s3cret-token").statusCode());
            assertEquals(200, get(base + "/api/state", "Authorization", "bearer s3cret-token").statusCode());
            // a browser opens the page once with ?token=, then its own requests carry the cookie
            HttpResponse<String> page = get(base + "/?token=s3cret-token");
            assertEquals(200, page.statusCode());
            String cookie = page.headers().firstValue("Set-Cookie").orElse("");
            assertTrue(cookie.startsWith(Dashboard.COOKIE + "=s3cret-token") && cookie.toLowerCase().contains("httponly"), cookie);
            assertEquals(200, get(base + "/api/info", "Cookie", Dashboard.COOKIE + "=s3cret-token").statusCode());
            // a worker sends the token with its artifact download
            Path dest = dir.resolve("worker/artifact.safetensors");
            var refused = assertThrows(IOException.class, () -> ArtifactFetch.download(base + ArtifactFetch.route(sha), sha, dest,
                    Duration.ofSeconds(10)));
            assertTrue(refused.getMessage().contains("HTTP 401") && refused.getMessage().contains("TFMQ_DASHBOARD_TOKEN"), refused.getMessage());
            ArtifactFetch.download(base + ArtifactFetch.route(sha), sha, dest, Duration.ofSeconds(10), "s3cret-token");
            assertArrayEquals(new byte[]{1, 2, 3}, Files.readAllBytes(dest));
        }
        // without a token (loopback) everything stays open, as before
        try (Dashboard d = Dashboard.start("127.0.0.1", 0, "r", "tfmq", new PrometheusSink("r", "tfmq"))) {
            assertEquals(200, get("http://127.0.0.1:" + d.port() + "/metrics").statusCode());
        }
    }
}
