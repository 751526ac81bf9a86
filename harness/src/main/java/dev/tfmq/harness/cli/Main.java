package dev.tfmq.harness.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code tfmq} command line. */
@Command(name = "tfmq", mixinStandardHelpOptions = true, version = "tfmq 0.1.0",
        description = "Quantize diffusion models without breaking their sense of time, and prove it live.",
        subcommands = {ModelCommand.class, SampleCommand.class, DataCommand.class, FidCommand.class, StatsCommand.class, BenchCommand.class,
                QuantizeCommand.class, ProbeCommand.class, RunCommand.class, WorkerCommand.class, QuickstartCommand.class, GateCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static {
        // ND4J logs its backend banner at INFO; keep the terminal for our own output unless asked.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the CLI; bad input gives exit code 2 and a one-line message naming the problem. */
    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        withHelp(cl);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("tfmq: " + message(ex));
            if (System.getenv("TFMQ_DEBUG") != null) ex.printStackTrace(line.getErr());
            return 2;
        });
        return cl.execute(args);
    }

    /** Every subcommand answers --help / -h (and --version) with exit 0, even one with required options. */
    private static void withHelp(CommandLine cl) {
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (!sub.getCommandSpec().mixinStandardHelpOptions() && !(sub.getCommand() instanceof CommandLine.HelpCommand)) {
                sub.getCommandSpec().mixinStandardHelpOptions(true);
            }
            withHelp(sub);
        }
    }

    private static String message(Throwable ex) {
        String m = ex.getMessage();
        if (ex instanceof java.nio.file.NoSuchFileException) return "no such file: " + m;
        return m == null ? ex.getClass().getSimpleName() : m;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
