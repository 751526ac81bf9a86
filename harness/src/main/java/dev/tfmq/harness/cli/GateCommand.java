package dev.tfmq.harness.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.gate.Gate;
import dev.tfmq.harness.gate.GateReport;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.model.io.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tfmq gate}: the regression gate on two finished runs. */
@Command(name = "gate", description = "Gate a candidate summary.json against a baseline summary.json. Exit code 0 = pass, "
        + "1 = gate failed, 2 = error. Rules come from the tfmq.gate block of --config (default: the built-in "
        + "baseline rules, see gate-default.conf).")
public final class GateCommand implements Callable<Integer> {
    @Option(names = "--baseline", required = true, paramLabel = "A.json") Path baseline;
    @Option(names = "--candidate", required = true, paramLabel = "B.json") Path candidate;
    @Option(names = "--config", paramLabel = "gate.conf", description = "HOCON with a tfmq.gate block") Path config;
    @Option(names = "--junit", paramLabel = "FILE", description = "write the JUnit XML report here") Path junit;
    @Option(names = "--markdown", paramLabel = "FILE", description = "write the Markdown report here") Path markdown;

    @Override
    public Integer call() throws Exception {
        RunConfig.Gate gate = ConfigLoader.loadGate(config);
        JsonNode b = read(baseline), c = read(candidate);
        Gate.Verdict v = Gate.evaluate(gate, c, b);
        String name = candidate.toAbsolutePath().getParent() == null ? "candidate" : candidate.toAbsolutePath().getParent().getFileName().toString();
        String md = GateReport.markdown(name, null, v);
        if (junit != null) AtomicFiles.writeString(junit, GateReport.junitXml(name, v));
        if (markdown != null) AtomicFiles.writeString(markdown, md);
        System.out.print(md);
        return v.passed() ? 0 : 1;
    }

    private static JsonNode read(Path p) throws IOException {
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException("no such summary file: " + p);
        try {
            return RunDirectory.JSON.readTree(p.toFile());
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException(p + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

}
