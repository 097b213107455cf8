package io.kflex.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code kflex} command. Exit status is a contract (DESIGN §8): 0 success, 1 the extension
 * was rejected or a test failed, 2 usage or load error. No stack trace ever reaches the user:
 * unexpected exceptions are reported in one line with exit status 2.
 */
@Command(
        name = "kflex",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Safe, flexible and fast eBPF extensions for the JVM.",
        subcommands = {
            BenchCommand.class,
            ConformanceCommand.class,
            DemoCommand.class,
            DisasmCommand.class,
            MemcachedCommand.class,
            RunCommand.class,
            VerifyCommand.class,
        })
public final class Main implements Runnable {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams; used by tests as well as {@link #main}. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("kflex: " + describe(ex));
            return USAGE;
        });
        cli.setExitCodeExceptionMapper(ex -> USAGE);
        return cli.execute(args);
    }

    private static String describe(Throwable ex) {
        String message = ex.getMessage();
        return message == null || message.isBlank() ? ex.getClass().getSimpleName() : message;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"kflex " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
