package dev.tfmq.harness.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated run configuration (the {@code tfmq} block of a HOCON file merged over {@code reference.conf}, where
 * every key is documented). Built only by {@link ConfigLoader}; see that file for the meaning of each key.
 */
public record RunConfig(Run run, Model model, Quantization quantization, Monitor monitor, Selection selection,
                        Metrics metrics, Workers workers, Dashboard dashboard, Gate gate, Config source, Path baseDir) {

    public record Run(String name, long seed, int samples, int batchSize, int checkpointEveryBatches, int gridsKept) {
        public int batches() { return (samples + batchSize - 1) / batchSize; }
    }

    public record Model(String path, String scheduler, int steps, double eta, String schedulerConfig) {}

    public record Quantization(String recipe, String recipeFile, int weightBits, int activationBits, Config overrides,
                               String cacheDir) {
        public String bits() { return "W" + weightBits + "A" + activationBits; }
    }

    public record Monitor(int probeSamples) {}

    /**
     * The feature measure's decision before the first batch ({@code mode}, {@code metric}), and the online revision of a
     * table selected by the output error ({@code minSamples}, {@code confidence}, {@code delayBatches}).
     */
    public record Selection(String mode, String metric, int minSamples, double confidence, int delayBatches) {}

    public record Metrics(String features, String referenceDataset, int referenceCount, int everyBatches,
                          int bootstrapReplicates, int spatialBootstrapReplicates, double confidence, int reservoir, int kidSubsetSize, int kidSubsets) {}

    public record Workers(int nd4jThreads) {}

    /** @param token the bearer token every request must carry, or null (allowed only on a loopback address) */
    public record Dashboard(boolean enabled, String host, int port, String token) {
        @Override
        public String toString() { return "Dashboard[enabled=" + enabled + ", host=" + host + ", port=" + port + ", token=" + (token == null ? "none" : "set") + "]"; }
    }

    public record GateRule(String metric, String compare, double margin, String marginKind, String direction) {
        public String describe() {
            String lim = switch (compare) {
                case "absolute" -> String.valueOf(margin);
                default -> compare + (marginKind.equals("relative")
                        ? (direction.equals("lower") ? " x (1 + " : " x (1 - ") + margin + ")"
                        : (direction.equals("lower") ? " + " : " - ") + margin);
            };
            return metric + (direction.equals("lower") ? " <= " : " >= ") + lim;
        }
    }

    public record Gate(String decide, String baseline, List<GateRule> rules) {}

    /** The resolved {@code tfmq} block as HOCON text (what the run directory records). */
    public String render() {
        // the dashboard token is a secret: it never reaches the run directory
        Config shown = source.hasPath("dashboard.token") ? source.withoutPath("dashboard.token") : source;
        return shown.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
    }

    static RunConfig from(Config tfmq, Path baseDir) {
        Settings s = new Settings(tfmq, "tfmq");
        Settings r = s.at("run");
        // every metric is computed from a covariance of the samples, which needs at least two of them
        int samples = r.intIn("samples", 2, 10_000_000);
        int batch = r.intIn("batch-size", 1, 4096);
        Run run = new Run(r.plainName("name"), r.longIn("seed", Long.MIN_VALUE, Long.MAX_VALUE), samples, batch,
                r.intIn("checkpoint-every-batches", 1, 1_000_000), r.intIn("grids-kept", 0, 100_000));

        Settings m = s.at("model");
        Model model = new Model(m.string("path"), m.oneOf("scheduler", "ddim", "ddpm"), m.intIn("steps", 1, 10_000),
                m.doubleIn("eta", 0.0, 1.0), m.optionalString("scheduler-config"));
        if (model.scheduler().equals("ddpm") && model.eta() != 0.0) {
            throw new ConfigError("config key 'tfmq.model.eta' = " + model.eta()
                    + ": eta applies to ddim only; use 0 with tfmq.model.scheduler = \"ddpm\"");
        }

        Settings q = s.at("quantization");
        Quantization quant = new Quantization(q.string("recipe"), q.optionalString("recipe-file"),
                q.intIn("weight-bits", 2, 32), q.intIn("activation-bits", 4, 32), q.object("overrides"),
                q.string("cache-dir"));
        if (quant.weightBits() > 8 && quant.weightBits() != 32) {
            throw new ConfigError("config key 'tfmq.quantization.weight-bits' = " + quant.weightBits()
                    + ": expected 2..8 (quantized) or 32 (full precision)");
        }
        if (quant.activationBits() > 16 && quant.activationBits() != 32) {
            throw new ConfigError("config key 'tfmq.quantization.activation-bits' = " + quant.activationBits()
                    + ": expected 4..16 (quantized) or 32 (full precision)");
        }

        Monitor monitor = new Monitor(s.at("monitor").intIn("probe-samples", 0, batch));
        Settings sel = s.at("selection");
        Settings online = sel.at("online");
        Selection selection = new Selection(sel.oneOf("mode", "per-member", "per-step"),
                sel.oneOf("metric", "relative-l2", "cosine"), online.intIn("min-samples", 2, 1_000_000_000),
                online.doubleIn("confidence", 0.51, 0.9999), online.intIn("delay-batches", 1, 100_000));

        Settings me = s.at("metrics");
        Metrics metrics = new Metrics(me.string("features"), me.string("reference.dataset"),
                me.intIn("reference.count", 2, 10_000_000), me.intIn("every-batches", 1, 1_000_000),
                me.intIn("bootstrap-replicates", 2, 10_000), me.intIn("spatial-bootstrap-replicates", 2, 10_000),
                me.doubleIn("confidence", 0.5, 0.999),
                me.intIn("reservoir", 2, 1_000_000), me.intIn("kid-subset-size", 2, 100_000),
                me.intIn("kid-subsets", 1, 10_000));

        Workers workers = new Workers(s.at("workers").intIn("nd4j-threads", 0, 256));
        Settings d = s.at("dashboard");
        Dashboard dash = new Dashboard(d.bool("enabled"), d.string("host"), d.intIn("port", 0, 65535), d.optionalString("token"));
        if (dash.enabled() && dash.token() == null && !dev.tfmq.harness.web.Dashboard.isLoopback(dash.host())) {
            throw new ConfigError("config key 'tfmq.dashboard.host' = \"" + dash.host() + "\" is not a loopback address, so the "
                    + "dashboard, /metrics and /artifact/ would answer anyone: set tfmq.dashboard.token (or the environment "
                    + "variable TFMQ_DASHBOARD_TOKEN) to a secret every request must carry, or bind to 127.0.0.1");
        }

        Settings g = s.at("gate");
        g.onlyKeys(GATE_KEYS);
        List<GateRule> rules = new ArrayList<>();
        List<? extends Config> list = g.objectList("rules");
        for (int i = 0; i < list.size(); i++) {
            rules.add(rule(new Settings(list.get(i), "", "tfmq.gate.rules[" + i + "]")));
        }
        Gate gate = new Gate(g.oneOf("decide", "fail-if-certainly-worse", "pass-if-certainly-within"),
                g.optionalString("baseline"), List.copyOf(rules));
        for (GateRule rule : rules) {
            if (rule.compare().equals("baseline") && gate.baseline() == null) {
                throw new ConfigError("config key 'tfmq.gate.baseline' is missing: rule '" + rule.describe()
                        + "' compares against a baseline summary.json");
            }
        }
        return new RunConfig(run, model, quant, monitor, selection, metrics, workers, dash, gate, tfmq.getConfig("tfmq"), baseDir);
    }

    /** The keys of a gate rule (and of the gate block), as documented in reference.conf and gate-default.conf. */
    static final String[] RULE_KEYS = {"metric", "compare", "margin", "margin-kind", "direction"};
    static final String[] GATE_KEYS = {"decide", "baseline", "rules"};

    /** Reads one gate rule (also used by {@code tfmq gate --config}). */
    static GateRule rule(Settings r) {
        r.onlyKeys(RULE_KEYS);
        String metric = r.oneOf("metric", GateMetrics.NAMES.toArray(String[]::new));
        String compare = r.oneOf("compare", "absolute", "fp", "baseline");
        if (compare.equals("fp") && !GateMetrics.hasFp(metric)) {
            throw new ConfigError("config key '" + r.key("compare") + "' = \"fp\": metric '" + metric
                    + "' has no full-precision counterpart; use absolute or baseline");
        }
        double margin = r.doubleIn("margin", -1e12, 1e12);
        String kind = r.has("margin-kind") ? r.oneOf("margin-kind", "relative", "absolute") : "absolute";
        String direction = r.has("direction") ? r.oneOf("direction", "lower", "higher") : GateMetrics.direction(metric);
        return new GateRule(metric, compare, margin, kind, direction);
    }
}
