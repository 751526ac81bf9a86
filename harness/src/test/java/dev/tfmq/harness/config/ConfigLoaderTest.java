package dev.tfmq.harness.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {
    @TempDir
    Path tmp;

    private Path file(String text) {
        try {
            Path f = tmp.resolve("run.conf");
            Files.writeString(f, text);
            return f;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String error(Runnable r) {
        return assertThrows(ConfigError.class, r::run).getMessage();
    }

    @Test
    void defaultsAreValidAndDocumented() throws Exception {
        RunConfig c = ConfigLoader.load(null, List.of(), Map.of());
        assertEquals(512, c.run().samples());
        assertEquals("ddim", c.model().scheduler());
        assertEquals("W4A8", c.quantization().bits());
        assertNull(c.gate().baseline());
        // every leaf key of the defaults has a comment in reference.conf
        String ref = new String(getClass().getResourceAsStream("/reference.conf").readAllBytes());
        for (String key : ConfigLoader.leafKeys(ConfigLoader.defaults().withOnlyPath("tfmq"))) {
            String leaf = key.substring(key.lastIndexOf('.') + 1);
            int at = ref.indexOf("\n    " + leaf + " =");
            if (at < 0) at = ref.indexOf("\n      " + leaf + " =");
            assertTrue(at > 0, "key " + key + " not found");
            String before = ref.substring(ref.lastIndexOf('\n', at - 1) + 1, at).trim();
            assertTrue(before.startsWith("#"), "key " + key + " has no comment above it");
        }
    }

    @Test
    void precedenceFileThenEnvironmentThenSet() throws Exception {
        Path f = file("tfmq.run { samples = 100, batch-size = 10 }\ntfmq.model.steps = 7\n");
        RunConfig c = ConfigLoader.load(f, List.of("run.batch-size=5", "tfmq.selection.mode=per-step"),
                Map.of("TFMQ_RUN_SAMPLES", "200", "TFMQ_RUN_BATCH_SIZE", "20", "TFMQ_METRICS_REFERENCE_COUNT", "77"));
        assertEquals(200, c.run().samples(), "environment over file");
        assertEquals(5, c.run().batchSize(), "--set over environment");
        assertEquals(7, c.model().steps(), "file over defaults");
        assertEquals(77, c.metrics().referenceCount());
        assertEquals("per-step", c.selection().mode());
        assertEquals("TFMQ_METRICS_REFERENCE_COUNT", ConfigLoader.envName("tfmq.metrics.reference.count"));
    }

    @Test
    void hoconEnvSubstitutionInTheFileWorks() throws Exception {
        Path f = file("tfmq.run.name = \"base\"\ntfmq.run.name = ${?TFMQ_TEST_UNLIKELY_VARIABLE_NAME}\n");
        assertEquals("base", ConfigLoader.load(f, List.of(), Map.of()).run().name());
    }

    @Test
    void errorsNameTheKeyTheValueAndWhatIsAllowed() throws Exception {
        String e = error(() -> ConfigLoader.load(null, List.of("model.scheduler=euler"), Map.of()));
        assertTrue(e.contains("tfmq.model.scheduler") && e.contains("euler") && e.contains("ddim, ddpm"), e);
        e = error(() -> ConfigLoader.load(null, List.of("run.samples=0"), Map.of()));
        assertTrue(e.contains("tfmq.run.samples") && e.contains("[2, 10000000]"), e);
        e = error(() -> ConfigLoader.load(null, List.of("run.batch-size=abc"), Map.of()));
        assertTrue(e.contains("tfmq.run.batch-size") && e.contains("abc") && e.contains("integer"), e);
        e = error(() -> ConfigLoader.load(null, List.of("quantization.weight-bits=12"), Map.of()));
        assertTrue(e.contains("weight-bits") && e.contains("2..8"), e);
        e = error(() -> ConfigLoader.load(file("tfmq.run.sample = 3\n"), List.of(), Map.of()));
        assertTrue(e.contains("tfmq.run.sample") && e.contains("run.conf") && e.contains("samples"), e);
        e = error(() -> ConfigLoader.load(null, List.of("model.scheduler=ddpm", "model.eta=0.5"), Map.of()));
        assertTrue(e.contains("tfmq.model.eta") && e.contains("ddim only"), e);
        e = error(() -> ConfigLoader.load(null, List.of("novalue"), Map.of()));
        assertTrue(e.contains("key=value"), e);
        e = error(() -> ConfigLoader.load(file("tfmq.gate.rules = [ { metric = fidd, compare = fp, margin = 1 } ]\n"), List.of(), Map.of()));
        assertTrue(e.contains("tfmq.gate.rules[0].metric") && e.contains("fidd") && e.contains("paired-psnr"), e);
        e = error(() -> ConfigLoader.load(file("tfmq.gate.rules = [ { metric = paired-psnr, compare = fp, margin = 1 } ]\n"), List.of(), Map.of()));
        assertTrue(e.contains("no full-precision counterpart"), e);
        e = error(() -> ConfigLoader.load(file("tfmq.gate.rules = [ { metric = fid, compare = baseline, margin = 1 } ]\n"), List.of(), Map.of()));
        assertTrue(e.contains("tfmq.gate.baseline"), e);
        e = error(() -> ConfigLoader.load(tmp.resolve("missing.conf"), List.of(), Map.of()));
        assertTrue(e.contains("missing.conf"), e);
        e = error(() -> ConfigLoader.load(file("tfmq.run { samples = \n"), List.of(), Map.of()));
        assertTrue(e.contains("run.conf"), e);
    }

    @Test
    void theShippedConfigsAreValid() throws Exception {
        Path configs = Path.of(System.getProperty("tfmq.root", "..")).resolve("configs");
        List<Path> files;
        try (var s = Files.list(configs)) {
            files = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
        }
        assertTrue(files.size() >= 10, "configs/ holds the quickstart and one config per recipe and bit setting: " + files);
        for (Path f : files) {
            RunConfig c = ConfigLoader.load(f, List.of(), Map.of());
            assertTrue(c.run().samples() > 0, f.toString());
        }
    }

    @Test
    void aMisspelledGateKeyFailsInsteadOfPassing() {
        // issue 14: `rulez` used to mean "no rules, PASS" and `margin-knd` silently made a relative margin absolute
        String m = error(() -> ConfigLoader.loadGate(file("tfmq.gate { rulez = [ { metric = fid, compare = baseline, margin = 0.1 } ] }")));
        assertTrue(m.contains("tfmq.gate.rulez") && m.contains("did you mean 'rules'"), m);
        m = error(() -> ConfigLoader.loadGate(file(
                "tfmq.gate.rules = [ { metric = fid, compare = baseline, margin = 0.1, margin-knd = relative } ]")));
        assertTrue(m.contains("tfmq.gate.rules[0].margin-knd") && m.contains("did you mean 'margin-kind'"), m);
        m = error(() -> ConfigLoader.load(file("tfmq.gate.rules = [ { metric = fid, compare = fp, margin = 0.1, margin-knd = relative } ]"),
                List.of(), Map.of()));
        assertTrue(m.contains("tfmq.gate.rules[0].margin-knd") && m.contains("did you mean 'margin-kind'"), m);
        m = error(() -> ConfigLoader.load(file("tfmq.gate.rules = [ { metric = fid, compare = fp, margin = 0.1, colour = red } ]"),
                List.of(), Map.of()));
        assertTrue(m.contains("colour") && m.contains("keys allowed here: compare, direction, margin, margin-kind, metric")
                && !m.contains("did you mean"), m);
        // the valid spellings still load
        assertEquals("relative", ConfigLoader.loadGate(file(
                "tfmq.gate.rules = [ { metric = fid, compare = baseline, margin = 0.1, margin-kind = relative } ]")).rules().get(0).marginKind());
    }

    @Test
    void theDashboardTokenIsReadButNeverRecorded() {
        RunConfig c = ConfigLoader.load(null, List.of("dashboard.host=0.0.0.0", "dashboard.token=t0ps3cret"), Map.of());
        assertEquals("t0ps3cret", c.dashboard().token());
        assertFalse(c.render().contains("t0ps3cret"), "config.conf of a run must not hold the token");
        assertFalse(c.dashboard().toString().contains("t0ps3cret"));
        assertNull(ConfigLoader.load(null, List.of(), Map.of()).dashboard().token());
    }
}
