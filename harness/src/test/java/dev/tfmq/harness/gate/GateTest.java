package dev.tfmq.harness.gate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.cli.Main;
import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.run.RunDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GateTest {
    @TempDir
    Path tmp;

    static String summary(double qFid, double lo, double hi, double fpFid, double psnr, double psnrLo, double psnrHi) {
        return """
                {"quality": {"fp": {"fid": {"value": %s, "low": %s, "high": %s, "n": 1000}},
                             "quantized": {"fid": {"value": %s, "low": %s, "high": %s, "n": 1000}}},
                 "paired": {"psnr": {"value": %s, "low": %s, "high": %s, "n": 1000}}}
                """.formatted(fpFid, fpFid - 0.5, fpFid + 0.5, qFid, lo, hi, psnr, psnrLo, psnrHi);
    }

    static RunConfig.Gate gate(String decide, String rules) {
        Path f;
        try {
            f = Files.createTempFile("gate", ".conf");
            Files.writeString(f, "tfmq.gate { decide = " + decide + "\n rules = [" + rules + "] }\n");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return ConfigLoader.loadGate(f);
    }

    static JsonNode json(String s) throws Exception {
        return RunDirectory.JSON.readTree(s);
    }

    @Test
    void decidedOnTheIntervalAndDirectionAware() throws Exception {
        RunConfig.Gate g = gate("fail-if-certainly-worse", "{ metric = fid, compare = fp, margin = 0.2, margin-kind = relative }");
        // FP 10 → limit 12. Point estimate 12.5 above the limit, but the interval reaches below it: not certainly worse.
        assertTrue(Gate.evaluate(g, json(summary(12.5, 11.5, 13.5, 10, 30, 29, 31)), null).passed());
        // whole interval above 12: fails
        Gate.Verdict v = Gate.evaluate(g, json(summary(13, 12.2, 13.8, 10, 30, 29, 31)), null);
        assertFalse(v.passed());
        assertEquals(12.0, v.rules().get(0).limit(), 1e-12);
        // the strict rule needs the whole interval within the limit
        RunConfig.Gate strict = gate("pass-if-certainly-within", "{ metric = fid, compare = fp, margin = 0.2, margin-kind = relative }");
        assertFalse(Gate.evaluate(strict, json(summary(11.5, 10.8, 12.3, 10, 30, 29, 31)), null).passed());
        assertTrue(Gate.evaluate(strict, json(summary(11.5, 10.8, 11.9, 10, 30, 29, 31)), null).passed());
        // higher is better for PSNR: absolute margin below the baseline's 30 dB
        RunConfig.Gate psnr = gate("fail-if-certainly-worse", "{ metric = paired-psnr, compare = baseline, margin = 1 }");
        JsonNode base = json(summary(10, 9, 11, 10, 30, 29, 31));
        assertTrue(Gate.evaluate(psnr, json(summary(10, 9, 11, 10, 28.5, 28, 29.2)), base).passed());
        assertFalse(Gate.evaluate(psnr, json(summary(10, 9, 11, 10, 28.5, 28, 28.9)), base).passed());
        // absolute limit
        RunConfig.Gate abs = gate("fail-if-certainly-worse", "{ metric = fid, compare = absolute, margin = 5 }");
        assertFalse(Gate.evaluate(abs, json(summary(6, 5.5, 6.5, 1, 30, 29, 31)), null).passed());
        // a metric the summary lacks is an error, not a failure
        RunConfig.Gate kid = gate("fail-if-certainly-worse", "{ metric = kid, compare = absolute, margin = 5 }");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Gate.evaluate(kid, json(summary(6, 5, 7, 1, 30, 29, 31)), null))
                .getMessage().contains("/quality/quantized/kid"));
    }

    @Test
    void cliExitCodesAndReports() throws Exception {
        Path a = tmp.resolve("a.json"), good = tmp.resolve("good.json"), bad = tmp.resolve("bad.json"), conf = tmp.resolve("g.conf");
        Files.writeString(a, summary(10, 9, 11, 9, 30, 29, 31));
        Files.writeString(good, summary(10.5, 9.5, 11.5, 9, 29.5, 29, 30));
        Files.writeString(bad, summary(14, 13, 15, 9, 29.5, 29, 30));
        Files.writeString(conf, "tfmq.gate.rules = [ { metric = fid, compare = baseline, margin = 0.1, margin-kind = relative },"
                + " { metric = paired-psnr, compare = baseline, margin = 1 } ]\n");
        Path junit = tmp.resolve("r.xml"), md = tmp.resolve("r.md");
        assertEquals(0, Main.execute("gate", "--baseline", a.toString(), "--candidate", good.toString(), "--config", conf.toString()));
        assertEquals(1, Main.execute("gate", "--baseline", a.toString(), "--candidate", bad.toString(), "--config", conf.toString(),
                "--junit", junit.toString(), "--markdown", md.toString()));
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(junit.toFile());
        assertEquals("2", d.getDocumentElement().getAttribute("tests"));
        assertEquals("1", d.getDocumentElement().getAttribute("failures"));
        assertEquals(1, d.getElementsByTagName("failure").getLength());
        assertTrue(Files.readString(md).contains("FAIL"));
        assertEquals(2, Main.execute("gate", "--baseline", tmp.resolve("none.json").toString(), "--candidate", good.toString()));
        Files.writeString(tmp.resolve("broken.json"), "{not json");
        assertEquals(2, Main.execute("gate", "--baseline", a.toString(), "--candidate", tmp.resolve("broken.json").toString()));
        Files.writeString(tmp.resolve("bad.conf"), "tfmq.run.samples = 3\n");
        assertEquals(2, Main.execute("gate", "--baseline", a.toString(), "--candidate", good.toString(), "--config",
                tmp.resolve("bad.conf").toString()));
        // default rules (gate-default.conf) need sfid/kid: a summary without them is an error
        assertEquals(2, Main.execute("gate", "--baseline", a.toString(), "--candidate", good.toString()));
    }
}
