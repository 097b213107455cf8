package io.kflex.cli;

import io.kflex.loader.ExtensionObject;
import io.kflex.loader.KfuncResolver;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The object a command opened and the programs it works on: all of them, or the one named by {@code --program}. */
record ProgramSelection(ExtensionObject object, List<Program> programs) {

    /** Opens {@code path}; a load error or an unknown program name is a {@link LoadException} naming the problem. */
    static ProgramSelection open(Path path, String programName, KfuncResolver kfuncs) throws LoadException {
        ExtensionObject object = ExtensionObject.open(path, kfuncs);
        return new ProgramSelection(object, programName == null ? object.programs() : List.of(object.program(programName)));
    }

    /**
     * The {@code OBJ [--program NAME]} arguments of the commands that look at an object's programs
     * one by one ({@code verify}, {@code disasm}), as a picocli mixin so that they read the same
     * everywhere.
     */
    static final class Options {
        @Parameters(index = "0", paramLabel = "OBJ", description = "The eBPF object file.")
        Path object;

        @Option(names = "--program", paramLabel = "NAME", description = "Only this program.")
        String program;

        ProgramSelection open(KfuncResolver kfuncs) throws LoadException {
            return ProgramSelection.open(object, program, kfuncs);
        }
    }
}
