package dev.tfmq.harness.cli;

import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.model.ModelLocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tfmq quickstart}: the bundled model, W4A8 tfmq (fast calibration) against full precision. */
@Command(name = "quickstart", description = "Run configs/quickstart.conf: the bundled fmnist-ddpm, W4A8 'tfmq' with a fast "
        + "calibration against full precision, with the live dashboard (a few minutes on 2 cores).")
public final class QuickstartCommand implements Callable<Integer> {
    @Option(names = "--run-dir", paramLabel = "DIR", description = "run directory (default runs/quickstart)")
    Path runDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--resume", description = "continue the run in --run-dir from its last checkpoint")
    boolean resume;

    @Mixin
    RunOutput output = new RunOutput();

    @Override
    public Integer call() throws Exception {
        Path config = ModelLocator.home().resolve("configs/quickstart.conf");
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException("quickstart config " + config + " not found (run from the tfmq folder or set TFMQ_HOME)");
        }
        RunConfig cfg = ConfigLoader.load(config, sets);
        return output.execute(new RunLauncher(cfg, output.log()), runDir, resume);
    }
}
