package dev.tfmq.harness.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tfmq.harness.actors.LiveSink;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The live dashboard of a run, served by Vert.x: a static page (no build step; canvas charts drawn by
 * {@code dashboard.js}), Server-Sent Events at {@code /events} (every {@link LiveSink} event as JSON; a new client
 * first gets the quality history and the latest value of every other event), a JSON snapshot at {@code /api/state},
 * and Prometheus at {@code /metrics}.
 */
public final class Dashboard implements LiveSink, AutoCloseable {
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS).build();
    private static final Map<String, String> STATIC = Map.of("/", "index.html", "/index.html", "index.html",
            "/dashboard.js", "dashboard.js", "/dashboard.css", "dashboard.css");

    private final Vertx vertx;
    private final HttpServer server;
    private final Router router;
    private final String url;
    private final List<HttpServerResponse> clients = new CopyOnWriteArrayList<>();
    private final Map<String, String> latest = new LinkedHashMap<>();
    private final List<String> qualityHistory = new ArrayList<>();

    private Dashboard(Vertx vertx, HttpServer server, Router router, String host) {
        this.vertx = vertx;
        this.server = server;
        this.router = router;
        this.url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.actualPort() + "/";
    }

    public static Dashboard start(String host, int port, String run, String recipe, PrometheusSink prometheus) {
        return start(host, port, run, recipe, prometheus, null);
    }

    /** The cookie the page's own requests (EventSource, fetch) carry the token in after {@code /?token=...}. */
    static final String COOKIE = "tfmq_token";

    /** Whether {@code host} is a loopback address (127.0.0.0/8, ::1, localhost): only those may go without a token. */
    public static boolean isLoopback(String host) {
        try {
            for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) if (!a.isLoopbackAddress()) return false;
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /**
     * Starts the server; with a {@code token}, every route answers 401 unless the request carries it as
     * {@code Authorization: Bearer <token>}, as the {@value #COOKIE} cookie, or as {@code ?token=} (which also sets
     * the cookie, so a browser opens the page once with it). Compared in constant time.
     */
    public static Dashboard start(String host, int port, String run, String recipe, PrometheusSink prometheus, String token) {
        Vertx vertx = Vertx.vertx();
        Router router = Router.router(vertx);
        if (token != null) router.route().order(-1).handler(ctx -> authorize(ctx, token));
        Dashboard[] self = new Dashboard[1];
        STATIC.forEach((path, file) -> router.get(path).handler(ctx -> {
            byte[] body = resource(file);
            String type = file.endsWith(".html") ? "text/html; charset=utf-8" : file.endsWith(".js")
                    ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
            ctx.response().putHeader("Content-Type", type).putHeader("Cache-Control", "no-store").end(Buffer.buffer(body));
        }));
        router.get("/api/info").handler(ctx -> ctx.response().putHeader("Content-Type", "application/json")
                .end(json(Map.of("run", run, "recipe", recipe))));
        router.get("/api/state").handler(ctx -> ctx.response().putHeader("Content-Type", "application/json")
                .end(self[0].stateJson()));
        router.get("/metrics").handler(ctx -> ctx.response().putHeader("Content-Type", prometheus.contentType())
                .end(Buffer.buffer(prometheus.scrape())));
        router.get("/events").handler(ctx -> {
            HttpServerResponse r = ctx.response();
            r.setChunked(true).putHeader("Content-Type", "text/event-stream").putHeader("Cache-Control", "no-cache")
                    .putHeader("Connection", "keep-alive");
            r.write(": tfmq " + run + "\n\n");
            self[0].replayTo(r);
            self[0].clients.add(r);
            r.closeHandler(v -> self[0].clients.remove(r));
        });
        try {
            HttpServer server = vertx.createHttpServer().requestHandler(router).listen(port, host)
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            self[0] = new Dashboard(vertx, server, router, host);
            vertx.setPeriodic(10_000, id -> self[0].clients.forEach(c -> self[0].send(c, ": keep-alive\n\n")));
            return self[0];
        } catch (ExecutionException e) {
            vertx.close();
            throw new IllegalArgumentException("cannot serve the dashboard on " + host + ":" + port + " (config keys "
                    + "tfmq.dashboard.host / tfmq.dashboard.port): " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            vertx.close();
            throw new IllegalStateException("dashboard server did not start: " + e, e);
        }
    }

    private static void authorize(io.vertx.ext.web.RoutingContext ctx, String token) {
        String auth = ctx.request().getHeader("Authorization");
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
        boolean fromQuery = false;
        if (given == null && ctx.request().getCookie(COOKIE) != null) given = ctx.request().getCookie(COOKIE).getValue();
        if (given == null && ctx.request().getParam("token") != null) {
            given = ctx.request().getParam("token");
            fromQuery = true;
        }
        byte[] want = token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (given == null || !java.security.MessageDigest.isEqual(want, given.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
            ctx.response().setStatusCode(401).putHeader("WWW-Authenticate", "Bearer realm=\"tfmq\"")
                    .putHeader("Content-Type", "text/plain; charset=utf-8")
                    .end("401: this tfmq dashboard needs its token (Authorization: Bearer <token>, or open /?token=<token>)\n");
            return;
        }
        if (fromQuery) {
            ctx.response().addCookie(io.vertx.core.http.Cookie.cookie(COOKIE, given).setHttpOnly(true).setPath("/")
                    .setSameSite(io.vertx.core.http.CookieSameSite.STRICT));
        }
        ctx.next();
    }

    public String url() { return url; }

    public int port() { return server.actualPort(); }

    /** Serves one file read-only at {@code path} (cluster workers fetch the quantized artifact this way). */
    public void serveFile(String path, java.nio.file.Path file) {
        router.get(path).handler(ctx -> ctx.response().putHeader("Content-Type", "application/octet-stream")
                .sendFile(file.toAbsolutePath().toString()));
    }

    @Override
    public void publish(String event, Object payload) {
        String data = json(payload);
        synchronized (this) {
            if (event.equals("quality")) qualityHistory.add(data);
            else latest.put(event, data);
        }
        String frame = "event: " + event + "\ndata: " + data + "\n\n";
        vertx.runOnContext(v -> clients.forEach(c -> send(c, frame)));
    }

    /** Writes to one client; a client that went away is dropped. */
    private void send(HttpServerResponse c, String frame) {
        if (c.ended() || c.closed()) {
            clients.remove(c);
            return;
        }
        try {
            c.write(frame);
        } catch (IllegalStateException gone) {
            clients.remove(c);
        }
    }

    private synchronized void replayTo(HttpServerResponse r) {
        for (String q : qualityHistory) r.write("event: quality\ndata: " + q + "\n\n");
        latest.forEach((e, d) -> r.write("event: " + e + "\ndata: " + d + "\n\n"));
    }

    private synchronized String stateJson() {
        StringBuilder sb = new StringBuilder("{\"quality\":[").append(String.join(",", qualityHistory)).append("]");
        latest.forEach((e, d) -> sb.append(",\"").append(e).append("\":").append(d));
        return sb.append("}").toString();
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode dashboard event: " + e.getMessage(), e);
        }
    }

    private static byte[] resource(String name) {
        try (InputStream in = Dashboard.class.getResourceAsStream("/dashboard/" + name)) {
            if (in == null) throw new IllegalStateException("dashboard resource " + name + " missing from the jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        clients.forEach(c -> {
            try {
                c.end();
            } catch (IllegalStateException closed) {
                // the browser went away first
            }
        });
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }
}
