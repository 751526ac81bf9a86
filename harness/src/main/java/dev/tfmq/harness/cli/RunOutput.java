package dev.tfmq.harness.cli;

import dev.tfmq.harness.console.RunReport;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunLauncher;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@code run} and {@code quickstart} print: the readable result table by default, summary.json with
 * {@code --json} (the run's log then goes to standard error, so standard output is the JSON alone), or with
 * {@code --check} only the resolved inputs, without calibrating or sampling.
 */
final class RunOutput {
    @Option(names = "--json", description = "print summary.json on standard output instead of the result table (log on standard error)")
    boolean json;

    @Option(names = "--check", description = "resolve and check every input (model, recipe, feature network, reference, "
            + "baseline) and print them, without calibrating or sampling; exit 0 when the run could start")
    boolean check;

    PrintStream log() {
        return json ? System.err : System.out;
    }

    int execute(RunLauncher launcher, Path runDir, boolean resume) throws IOException, InterruptedException {
        if (check) {
            RunLauncher.Preflight p = launcher.check(runDir, resume, null);
            PrintStream out = System.out;
            out.println("tfmq: inputs resolved; the run can start");
            out.println("  run directory  " + p.runDir());
            out.println("  model          " + p.modelDir());
            out.println("  scheduler      " + p.schedulerFile());
            out.println("  features       " + p.featuresDir());
            out.println("  reference      " + p.reference().describe());
            if (p.gateBaseline() != null) out.println("  gate baseline  " + p.gateBaseline());
            out.println("  artifact cache " + p.cacheDir());
            return 0;
        }
        RunLauncher.Outcome o = launcher.run(runDir, resume, null);
        Path summary = o.runDir().resolve("summary.json");
        if (json) {
            System.out.println(Files.readString(summary).strip());
        } else {
            System.out.print(RunReport.table(RunDirectory.JSON.readTree(summary.toFile()), o.runDir(), o.dashboardUrl()));
        }
        return o.exitCode();
    }
}
