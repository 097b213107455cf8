package io.kflex.cli;

import io.kflex.loader.ExtensionObject;
import io.kflex.loader.KfuncResolver;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import java.nio.file.Path;
import java.util.List;

/** The object a command opened and the programs it works on: all of them, or the one named by {@code --program}. */
record ProgramSelection(ExtensionObject object, List<Program> programs) {

    /** Opens {@code path}; a load error or an unknown program name is a {@link LoadException} naming the problem. */
    static ProgramSelection open(Path path, String programName, KfuncResolver kfuncs) throws LoadException {
        ExtensionObject object = ExtensionObject.open(path, kfuncs);
        return new ProgramSelection(object, programName == null ? object.programs() : List.of(object.program(programName)));
    }
}
