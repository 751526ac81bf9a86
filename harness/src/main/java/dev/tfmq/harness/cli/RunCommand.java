package dev.tfmq.harness.cli;

import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.run.RunLauncher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tfmq run CONFIG}: evaluate a quantization recipe against full precision, live. Exit 0 pass, 1 gate failed, 2 error. */
@Command(name = "run", description = "Evaluate a quantization recipe against its full-precision model (live dashboard, "
        + "Prometheus, gate). Exit code 0 = gate passed, 1 = gate failed, 2 = error.")
public final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONFIG", description = "HOCON run config (e.g. configs/quickstart.conf)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable), e.g. --set run.samples=256")
    List<String> sets = new ArrayList<>();

    @Option(names = "--run-dir", paramLabel = "DIR", description = "run directory (default runs/<run.name>)")
    Path runDir;

    @Option(names = "--resume", description = "continue the run in --run-dir from its last checkpoint")
    boolean resume;

    @Mixin
    RunOutput output = new RunOutput();

    @Option(names = "--cluster", description = "coordinate a cluster run: workers join with 'tfmq worker --join HOST:PORT' "
            + "(settings: tfmq.cluster.*); the statistics equal a single-node run's")
    boolean cluster;

    @Override
    public Integer call() throws Exception {
        RunConfig cfg = ConfigLoader.load(config, sets);
        return output.execute(new RunLauncher(cfg, output.log()).cluster(cluster), runDir, resume);
    }
}
