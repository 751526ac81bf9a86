package dev.tfmq.harness.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class RunReportTest {
    static final String SUMMARY = """
            {"run": {"name": "quickstart", "samples_per_side": 256, "batches": 4, "seed": 0, "steps": 20, "scheduler": "ddim"},
             "recipe": {"name": "tfmq", "bits": "W4A8", "artifact_cache_hit": false},
             "quality": {
               "fp": {"fid": {"value": 1.152825311046307, "low": 0.79975, "high": 1.5651, "confidence": 0.95, "n": 256},
                      "sfid": {"value": 126.91, "low": 121.1, "high": 132.7, "n": 256},
                      "kid": {"value": 0.0010161, "low": -0.001012, "high": 0.003045, "n": 256}},
               "quantized": {"fid": {"value": 3.39205, "low": 2.44327, "high": 4.80360, "n": 256},
                             "sfid": {"value": 151.2, "low": 142.9, "high": 159.0, "n": 256},
                             "kid": {"value": 0.019091, "low": 0.0137803, "high": 0.0244018, "n": 256}},
               "fp_vs_quantized": {"fid": {"value": 2.5, "low": 2.0, "high": 3.1, "n": 256}}},
             "paired": {"mse": {"value": 0.0123, "low": 0.011, "high": 0.0135, "n": 256},
                        "psnr": {"value": 21.34, "low": 20.9, "high": 21.8, "n": 256},
                        "ssim": {"value": 0.8312, "low": 0.82, "high": 0.84, "n": 256}},
             "throughput": {"samples_per_second": 2.56, "wall_seconds": 100.2, "efficiency_vs_forward_bound": 0.82},
             "gate": {"verdict": "pass", "decide": "fail-if-certainly-worse", "rules": [
               {"rule": "fid <= fp + 10.0", "metric": "fid", "value": 3.39205, "low": 2.44327, "high": 4.8036, "n": 256,
                "limit": 11.1527, "passed": true}]},
             "warnings": ["sfid rank-deficient: N < 1568 dims"],
             "provenance": {"quantization": {"cache_hit": false, "prepare_seconds": 79.5}}}
            """;

    @Test
    void anOnlineSelectionListsItsRevisions() throws Exception {
        JsonNode s = new ObjectMapper().readTree("{\"run\": {\"name\": \"q\", \"samples_per_side\": 256, \"steps\": 20, \"scheduler\": \"ddim\"},"
                + "\"recipe\": {\"name\": \"tfmq\", \"bits\": \"W4A8\"}, \"selection\": {\"online\": {"
                + "\"final_steps_by_serving\": {\"tib\": 12, \"cache\": 8}, \"revisions\": [{\"timestep\": 350, \"from\": \"tib\","
                + "\"to\": \"cache\", \"fromBatch\": 3, \"n\": 32, \"meanDifference\": 0.0012, \"low\": 0.0004, \"high\": 0.002}]}}}");
        String t = RunReport.table(s, Path.of("runs/q"), null);
        assertTrue(t.contains("selection    by the output error, per step: 12 tib, 8 cache; 1 revision online"), t);
        assertTrue(t.contains("t=350  tib -> cache from batch 3 (n = 32, e_tib - e_cache 0.00120 [0.000400, 0.00200])"), t);
    }

    @Test
    void tableShowsBothSidesWithIntervalsGateAndReports() throws Exception {
        JsonNode s = new ObjectMapper().readTree(SUMMARY);
        String t = RunReport.table(s, Path.of("runs/quickstart"), "http://127.0.0.1:4242/");
        assertTrue(t.startsWith("tfmq: quickstart — tfmq W4A8 against full precision, 256 samples per side, DDIM 20 steps, seed 0"), t);
        assertTrue(t.contains("FID  ") && t.contains("1.153 [0.7998, 1.565]") && t.contains("3.392 [2.443, 4.804]"), t);
        assertTrue(t.contains("0.001016 [-0.001012, 0.003045]"), "four significant digits: " + t);
        assertTrue(t.contains("paired PSNR (dB)") && t.contains("21.34 [20.90, 21.80]"), t);
        assertTrue(t.contains("calibration  1 min 20 s (calibrated in this run)"), t);
        assertTrue(t.contains("throughput   2.56 samples/s per side over 1 min 40 s (82 % of the forward-pass bound)"), t);
        assertTrue(t.contains("gate         PASS (1 rule, fail-if-certainly-worse)"), t);
        assertTrue(t.contains("pass fid <= fp + 10.0") && t.contains("vs limit 11.15"), t);
        assertTrue(t.contains("warning      sfid rank-deficient"), t);
        assertTrue(t.contains("runs/quickstart/summary.json") && t.contains("runs/quickstart/gate-report.md"), t);
        assertFalse(t.contains("Estimate[") || t.contains("{"), "no record or map dumps: " + t);
        // the metric rows line up: every value column starts at the same offset
        int col = -1;
        for (String line : t.split("\n")) {
            if (line.matches("^(FID|sFID|KID)\\s{2,}.*")) {
                int c = line.indexOf(line.trim().split("\\s{2,}")[1]);
                if (col < 0) col = c;
                assertEquals(col, c, t);
            }
        }
        assertTrue(col > 0, t);
    }

    @Test
    void failedGateAndMissingMetricsStayReadable() throws Exception {
        JsonNode s = new ObjectMapper().readTree("""
                {"run": {"name": "r", "samples_per_side": 8, "steps": 2, "scheduler": "ddpm", "seed": 3},
                 "recipe": {"name": "q-diffusion", "bits": "W8A8"},
                 "quality": {"fp": {"fid": {"value": 1.0, "low": 0.5, "high": 1.5, "n": 8}}, "quantized": {}},
                 "gate": {"verdict": "fail", "decide": "pass-if-certainly-within", "rules": [
                   {"rule": "fid <= 0.1", "value": 1.0, "low": 0.5, "high": 1.5, "limit": 0.1, "passed": false}]}}
                """);
        String t = RunReport.table(s, Path.of("d"), null);
        assertTrue(t.contains("gate         FAIL (1 rule"), t);
        assertTrue(t.contains("FAIL fid <= 0.1"), t);
        assertTrue(t.lines().anyMatch(l -> l.startsWith("FID") && l.contains("1.000 [0.5000, 1.500]") && l.contains("-")), t);
        assertFalse(t.contains("dashboard"), t);
    }
}
