package dev.tfmq.harness.run;

import dev.tfmq.harness.actors.MetricAggregator;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.Estimate;
import dev.tfmq.harness.eval.QualitySnapshot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The content of summary.json. Every quality number is an object {value, low, high, confidence, n, method}. All
 * numbers except the throughput block are identical between an uninterrupted and a resumed run.
 */
public final class Summary {
    private Summary() {}

    public static Map<String, Object> build(RunConfig cfg, MetricAggregator.Result r, Map<String, Object> provenance, boolean cacheHit) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("run", Map.of("name", cfg.run().name(), "samples_per_side", r.samples(), "batches", r.batches(),
                "seed", cfg.run().seed(), "steps", cfg.model().steps(), "scheduler", cfg.model().scheduler()));
        s.put("recipe", Map.of("name", cfg.quantization().recipe(), "bits", cfg.quantization().bits(), "artifact_cache_hit", cacheHit));
        QualitySnapshot q = r.quality();
        Map<String, Object> quality = new LinkedHashMap<>();
        quality.put("fp", q.fp());
        quality.put("quantized", q.quantized());
        quality.put("fp_vs_quantized", q.fpVsQuantized());
        s.put("quality", quality);
        s.put("paired", q.paired());
        DisturbanceTable d = DisturbanceTable.of(r.disturbance());
        Map<String, Object> dist = new LinkedHashMap<>();
        dist.put("overall", d.overall());
        dist.put("per_member", d.perMember());
        dist.put("per_step_csv", "disturbance.csv");
        s.put("disturbance", dist);
        Map<String, Object> sel = new LinkedHashMap<>();
        if (r.selection() != null) {
            sel.put("mode", r.selection().mode());
            sel.put("metric", r.selection().metric());
            sel.put("candidates", r.selection().candidates());
            sel.put("per_member", r.selection().perMember());
            if (!r.selection().perStep().isEmpty()) sel.put("per_step", r.selection().perStep());
            sel.put("measured", r.selection().measured());
            sel.put("counts", r.selection().counts());
        }
        if (r.online() != null) {
            // the table above is the one sampling started with (the calibration-time table); these are its revisions
            sel.put("measure", "output");
            Map<String, Object> online = new LinkedHashMap<>();
            online.put("rule", Map.of("min_samples", r.online().minSamples(), "confidence", r.online().confidence(),
                    "delay_batches", r.online().delayBatches()));
            online.put("revisions", r.online().revisions());
            online.put("per_step", r.online().steps());
            Map<String, Long> finalCounts = new LinkedHashMap<>();
            for (var row : r.online().steps()) finalCounts.merge(row.choice(), 1L, Long::sum);
            online.put("final_steps_by_serving", finalCounts);
            sel.put("online", online);
        }
        s.put("selection", sel);
        Map<String, Object> tp = new LinkedHashMap<>();
        tp.put("samples_this_session", r.samplesThisSession());
        tp.put("wall_seconds", r.wallSeconds());
        tp.put("samples_per_second", r.samplesPerSecond());
        tp.put("fp_forward_seconds", r.fpForwardSeconds());
        tp.put("quantized_forward_seconds", r.qForwardSeconds());
        double slower = Math.max(r.fpForwardSeconds(), r.qForwardSeconds());
        double bound = slower > 0 ? r.samplesThisSession() / slower : 0;
        tp.put("forward_bound_samples_per_second", bound);
        tp.put("efficiency_vs_forward_bound", bound > 0 ? r.samplesPerSecond() / bound : Double.NaN);
        tp.put("note", "wall-clock numbers of this session only; every other number is identical after a resume");
        s.put("throughput", tp);
        List<Map<String, Object>> history = new ArrayList<>();
        for (QualitySnapshot h : r.history()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("n", h.n());
            p.put("fp", values(h.fp()));
            p.put("quantized", values(h.quantized()));
            history.add(p);
        }
        s.put("quality_history", history);
        s.put("warnings", q.warnings());
        s.put("provenance", provenance);
        return s;
    }

    private static Map<String, Double> values(Map<String, Estimate> m) {
        Map<String, Double> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.value()));
        return out;
    }
}
