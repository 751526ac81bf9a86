package dev.tfmq.harness;

import dev.tfmq.harness.run.RunLauncher;

import java.nio.file.Path;

/** Subprocess entry of {@link ResumeTest}: runs the test config in a run directory (killed with -9 by the test). */
public final class ResumeMain {
    private ResumeMain() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        var cfg = TestModels.config(dir, ResumeTest.SETTINGS);
        new RunLauncher(cfg, System.out).run(dir.resolve("run"), args.length > 1, TestModels.parts(0));
        System.exit(0);
    }
}
