package dev.tfmq.harness.web;

import dev.tfmq.harness.actors.LiveSink;
import dev.tfmq.harness.actors.Publisher;
import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.Estimate;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.QualitySnapshot;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Prometheus metrics of a run (client_java, text exposition format). Labels are bounded: run, recipe, side,
 * metric, time-step index, TIB member, strategy and cluster node — never sample ids. Includes the JVM metrics.
 */
public final class PrometheusSink implements LiveSink {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final String run, recipe;
    private final Gauge samplesDone, samplesTotal, throughput, eta, quality, qualityLow, qualityHigh, stepEps, stepTraj,
            stepOneStep, stepTemporal, choices, revisions, stepOutputError, nodeSamples, nodeBatches, nodeThroughput, clusterMembers;

    public PrometheusSink(String run, String recipe) {
        this.run = run;
        this.recipe = recipe;
        samplesDone = gauge("tfmq_samples_done", "Samples generated and committed per side");
        samplesTotal = gauge("tfmq_samples_total_planned", "Samples planned per side");
        throughput = gauge("tfmq_throughput_samples_per_second", "Committed samples per second (each side)");
        eta = gauge("tfmq_eta_seconds", "Estimated seconds to the end of sampling");
        quality = gauge("tfmq_quality", "Current quality metric value", "side", "metric");
        qualityLow = gauge("tfmq_quality_ci_low", "Lower confidence bound of the quality metric", "side", "metric");
        qualityHigh = gauge("tfmq_quality_ci_high", "Upper confidence bound of the quality metric", "side", "metric");
        stepEps = gauge("tfmq_step_eps_rel_l2", "Mean relative L2 error of the quantized model output per sampling step", "step");
        stepTraj = gauge("tfmq_step_trajectory_rms", "Mean RMS deviation of the quantized trajectory per sampling step", "step");
        stepOneStep = gauge("tfmq_step_one_step_rel_l2", "Mean one-step error of the quantized model on the FP input", "step");
        stepTemporal = gauge("tfmq_step_temporal_rel_l2", "Temporal-feature relative L2 per step and TIB member", "step", "member");
        choices = gauge("tfmq_strategy_choices", "TIB members (or member-steps) choosing each strategy", "strategy");
        // online selection by the output error
        revisions = gauge("tfmq_selection_revisions", "Time-steps whose serving the online selection has flipped so far");
        stepOutputError = gauge("tfmq_selection_step_output_error", "Mean relative L2 error of eps on the FP input per sampling step "
                + "under each serving (online selection by the output error)", "step", "strategy");
        // cluster runs: one series per node (bounded by the cluster's members, never by samples)
        nodeSamples = gauge("tfmq_node_samples_done", "Samples per side delivered by each cluster node", "node");
        nodeBatches = gauge("tfmq_node_batches_done", "Batches delivered by each cluster node", "node");
        nodeThroughput = gauge("tfmq_node_throughput_samples_per_second", "Samples per second delivered by each cluster node", "node");
        clusterMembers = gauge("tfmq_cluster_members", "Cluster members that are up");
        JvmMetrics.builder().register(registry);
        // exposed from the first scrape on, before the first batch is committed
        samplesDone.labelValues(run, recipe).set(0);
        throughput.labelValues(run, recipe).set(0);
    }

    private Gauge gauge(String name, String help, String... extra) {
        String[] labels = new String[extra.length + 2];
        labels[0] = "run";
        labels[1] = "recipe";
        System.arraycopy(extra, 0, labels, 2, extra.length);
        return Gauge.builder().name(name).help(help).labelNames(labels).register(registry);
    }

    @Override
    public synchronized void publish(String event, Object payload) {
        switch (event) {
            case "progress" -> {
                Publisher.ProgressUpdate p = (Publisher.ProgressUpdate) payload;
                samplesDone.labelValues(run, recipe).set(p.samplesDone());
                samplesTotal.labelValues(run, recipe).set(p.totalSamples());
                throughput.labelValues(run, recipe).set(p.samplesPerSecond());
                if (!Double.isNaN(p.etaSeconds())) eta.labelValues(run, recipe).set(p.etaSeconds());
            }
            case "quality" -> {
                QualitySnapshot q = (QualitySnapshot) payload;
                put("fp", q.fp());
                put("quantized", q.quantized());
                put("fp_vs_quantized", q.fpVsQuantized());
                put("paired", q.paired());
            }
            case "disturbance" -> {
                DisturbanceTable t = DisturbanceTable.of((DisturbanceTable.State) payload);
                for (int k = 0; k < t.steps(); k++) {
                    String step = Integer.toString(k);
                    setIfNumber(stepEps, t.epsMean(k), run, recipe, step);
                    setIfNumber(stepTraj, t.trajectoryMean(k), run, recipe, step);
                    setIfNumber(stepOneStep, t.oneStepMean(k), run, recipe, step);
                    for (int j = 0; j < t.members().size(); j++) {
                        setIfNumber(stepTemporal, t.temporalRel(j, k), run, recipe, step, t.members().get(j));
                    }
                }
            }
            case "selection" -> {
                Publisher.SelectionUpdate s = (Publisher.SelectionUpdate) payload;
                s.table().counts().forEach((strategy, n) -> choices.labelValues(run, recipe, strategy).set(n));
                if (s.online() != null) {
                    revisions.labelValues(run, recipe).set(s.online().revisions().size());
                    for (OnlineSelection.StepRow r : s.online().steps()) {
                        if (r.n() == 0) continue;
                        String step = Integer.toString(r.step());
                        stepOutputError.labelValues(run, recipe, step, SelectionTable.TIB).set(r.meanTib());
                        stepOutputError.labelValues(run, recipe, step, SelectionTable.CACHE).set(r.meanCache());
                    }
                }
            }
            case "members" -> {
                Publisher.MembersUpdate m = (Publisher.MembersUpdate) payload;
                clusterMembers.labelValues(run, recipe).set(m.up());
                for (Publisher.NodeRow n : m.members()) {
                    nodeSamples.labelValues(run, recipe, n.address()).set(n.samplesDone());
                    nodeBatches.labelValues(run, recipe, n.address()).set(n.batchesDone());
                    nodeThroughput.labelValues(run, recipe, n.address()).set(n.samplesPerSecond());
                }
            }
            default -> { }
        }
    }

    private void put(String side, Map<String, Estimate> m) {
        m.forEach((metric, e) -> {
            setIfNumber(quality, e.value(), run, recipe, side, metric);
            setIfNumber(qualityLow, e.low(), run, recipe, side, metric);
            setIfNumber(qualityHigh, e.high(), run, recipe, side, metric);
        });
    }

    private static void setIfNumber(Gauge g, double v, String... labels) {
        if (!Double.isNaN(v)) g.labelValues(labels).set(v);
    }

    /** The text exposition of everything registered. */
    public byte[] scrape() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
